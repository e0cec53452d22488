// The settings page (`/settings/<section>`): a side navigation of the sections the caller's
// role may open, each section its own URL; `/settings` goes to the first one.
import type { FunctionComponent } from "preact";
import { useEffect } from "preact/hooks";
import { Empty } from "../../components/ui";
import { useTitle } from "../../lib/hooks";
import { Link, navigate } from "../../lib/router";
import { currentUser } from "../../lib/session";
import type { PageProps } from "../../routes";
import { resolveSection, visibleSections } from "./sections";
import { OrgSection } from "./OrgSection";
import { UsersSection } from "./UsersSection";
import { TeamsSection } from "./TeamsSection";
import { ApiKeysSection } from "./ApiKeysSection";
import { ChannelsSection } from "./ChannelsSection";
import { SessionsSection } from "./SessionsSection";
import { SecuritySection } from "./SecuritySection";
import { AuditSection } from "./AuditSection";
import { UsageSection } from "./UsageSection";
import "./settings.css";

const BODIES: Record<string, FunctionComponent> = {
  org: OrgSection,
  users: UsersSection,
  teams: TeamsSection,
  "api-keys": ApiKeysSection,
  channels: ChannelsSection,
  sessions: SessionsSection,
  security: SecuritySection,
  audit: AuditSection,
  usage: UsageSection,
};

export default function Settings({ params }: PageProps) {
  const role = currentUser.value?.role;
  const resolved = resolveSection(params["*"] ?? "", role);
  const sections = visibleSections(role);
  useTitle(resolved.kind === "section" ? `${resolved.section.label} · Settings` : "Settings");
  useEffect(() => {
    if (resolved.kind === "redirect") navigate(resolved.to, { replace: true });
  }, [resolved.kind === "redirect" ? resolved.to : null]);

  const current = resolved.kind === "section" || resolved.kind === "forbidden" ? resolved.section.id : null;
  let body;
  if (resolved.kind === "section") {
    const Body = BODIES[resolved.section.id];
    body = <Body />;
  } else if (resolved.kind === "forbidden") {
    body = <Empty>{resolved.section.label} is for admins of this organization. Ask an admin if you need something changed here.</Empty>;
  } else if (resolved.kind === "unknown") {
    body = <Empty>There is no settings section “{resolved.id}”. Pick one from the list.</Empty>;
  } else {
    body = null;
  }
  return (
    <div class="settings">
      <div class="page-head">
        <h1>Settings</h1>
      </div>
      <div class="sidebar-layout">
        <nav class="sidenav" aria-label="Settings">
          {sections.map((s) => (
            <Link href={`/settings/${s.id}`} class={s.id === current ? "active" : ""} aria-current={s.id === current ? "page" : undefined}>
              {s.label}
            </Link>
          ))}
        </nav>
        <div class="settings-body">{body}</div>
      </div>
    </div>
  );
}
