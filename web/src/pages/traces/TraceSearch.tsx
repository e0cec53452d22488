// Placeholder until this page is built in this change.
export default function TraceSearch() {
  return <h1>TraceSearch</h1>;
}
