// Placeholder until this page is built in this change.
export default function Overview() {
  return <h1>Overview</h1>;
}
