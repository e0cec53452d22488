// The frame of every signed-in page: the primary navigation (names as SPEC §12 lists
// them), the time picker where the page has a range, theme switch and sign out.
import type { ComponentChildren } from "preact";
import { Link, location } from "../lib/router";
import { currentOrg, currentUser, signOut } from "../lib/session";
import { theme, toggleTheme } from "../lib/theme";
import { TimePicker } from "./TimePicker";

const NAV: [string, string][] = [
  ["Overview", "/"],
  ["Logs", "/logs"],
  ["Traces", "/traces"],
  ["Hosts", "/hosts"],
  ["Schema", "/schema"],
  ["Query", "/query"],
  ["Dashboards", "/dashboards"],
  ["Alerts", "/alerts"],
  ["Heartbeats", "/heartbeats"],
  ["Settings", "/settings"],
];

function active(href: string, path: string) {
  return href === "/" ? path === "/" : path === href || path.startsWith(`${href}/`);
}

export function Layout({ children, timePicker }: { children: ComponentChildren; timePicker: boolean }) {
  const path = location.value.path;
  return (
    <div class="shell">
      <header class="topbar">
        <Link href="/" class="brand" aria-label="Hexcovery home">
          <img src="/favicon.svg" alt="" width={22} height={22} />
          <span>Hexcovery</span>
        </Link>
        <nav aria-label="Primary">
          {NAV.map(([name, href]) => (
            <Link href={href} class={active(href, path) ? "active" : ""} aria-current={active(href, path) ? "page" : undefined}>
              {name}
            </Link>
          ))}
        </nav>
        <div class="topbar-right">
          {timePicker && <TimePicker />}
          <button type="button" class="btn icon" onClick={toggleTheme} aria-label={theme.value === "dark" ? "Light theme" : "Dark theme"} title="Switch theme">
            {theme.value === "dark" ? "☀" : "☾"}
          </button>
          <span class="who" title={`${currentUser.value?.name} <${currentUser.value?.email}> in ${currentOrg.value?.name}`}>
            {currentOrg.value?.name}
          </span>
          <button type="button" class="btn" onClick={() => void signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <main class="page">{children}</main>
    </div>
  );
}
