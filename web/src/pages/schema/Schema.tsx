// Placeholder until this page is built in this change.
export default function Schema() {
  return <h1>Schema</h1>;
}
