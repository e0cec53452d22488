// Placeholder until this page is built in this change.
export default function QueryPage() {
  return <h1>QueryPage</h1>;
}
