// Placeholder until this page is built in this change.
export default function Context() {
  return <h1>Context</h1>;
}
