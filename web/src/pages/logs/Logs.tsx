// Placeholder until this page is built in this change.
export default function Logs() {
  return <h1>Logs</h1>;
}
