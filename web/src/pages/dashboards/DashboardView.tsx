// Placeholder until this page is built in this change.
export default function DashboardView() {
  return <h1>DashboardView</h1>;
}
