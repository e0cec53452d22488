// Placeholder until this page is built in this change.
export default function Heartbeats() {
  return <h1>Heartbeats</h1>;
}
