// Placeholder until this page is built in this change.
export default function AlertDetail() {
  return <h1>AlertDetail</h1>;
}
