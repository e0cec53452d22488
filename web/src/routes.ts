// The page table: every URL of SPEC §12 with the module that renders it (loaded on
// demand, so the first load stays small) and whether it shows the time picker.
import type { FunctionComponent } from "preact";

export interface PageProps {
  params: Record<string, string>;
}
type PageModule = { default: FunctionComponent<PageProps> };

export interface RouteDef {
  pattern: string;
  load: () => Promise<PageModule>;
  /** Pages that anyone may open, signed in or not. */
  public?: boolean;
  timePicker?: boolean;
}

export const ROUTES: RouteDef[] = [
  { pattern: "/login", load: () => import("./pages/auth/Login"), public: true },
  { pattern: "/signup", load: () => import("./pages/auth/Signup"), public: true },
  { pattern: "/invite", load: () => import("./pages/auth/Invite"), public: true },
  { pattern: "/", load: () => import("./pages/overview/Overview"), timePicker: true },
  { pattern: "/logs", load: () => import("./pages/logs/Logs"), timePicker: true },
  { pattern: "/logs/context", load: () => import("./pages/logs/Context") },
  { pattern: "/traces", load: () => import("./pages/traces/TraceSearch"), timePicker: true },
  { pattern: "/traces/:id", load: () => import("./pages/traces/TraceView") },
  { pattern: "/hosts", load: () => import("./pages/hosts/Hosts"), timePicker: true },
  { pattern: "/hosts/:host", load: () => import("./pages/hosts/HostDetail"), timePicker: true },
  { pattern: "/schema", load: () => import("./pages/schema/Schema") },
  { pattern: "/query", load: () => import("./pages/query/QueryPage"), timePicker: true },
  { pattern: "/dashboards", load: () => import("./pages/dashboards/DashboardList") },
  { pattern: "/dashboards/:id", load: () => import("./pages/dashboards/DashboardView"), timePicker: true },
  { pattern: "/alerts", load: () => import("./pages/alerts/AlertList") },
  { pattern: "/alerts/:id", load: () => import("./pages/alerts/AlertDetail") },
  { pattern: "/heartbeats", load: () => import("./pages/heartbeats/Heartbeats") },
  { pattern: "/settings", load: () => import("./pages/settings/Settings") },
  { pattern: "/settings/*", load: () => import("./pages/settings/Settings") },
];
