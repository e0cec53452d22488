// Placeholder until this page is built in this change.
export default function DashboardList() {
  return <h1>DashboardList</h1>;
}
