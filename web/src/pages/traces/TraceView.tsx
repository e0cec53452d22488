// Placeholder until this page is built in this change.
export default function TraceView() {
  return <h1>TraceView</h1>;
}
