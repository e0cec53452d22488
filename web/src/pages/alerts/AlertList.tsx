// Placeholder until this page is built in this change.
export default function AlertList() {
  return <h1>AlertList</h1>;
}
