// Placeholder until this page is built in this change.
export default function Hosts() {
  return <h1>Hosts</h1>;
}
