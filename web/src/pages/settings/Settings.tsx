// Placeholder until this page is built in this change.
export default function Settings() {
  return <h1>Settings</h1>;
}
