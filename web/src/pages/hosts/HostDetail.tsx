// Placeholder until this page is built in this change.
export default function HostDetail() {
  return <h1>HostDetail</h1>;
}
