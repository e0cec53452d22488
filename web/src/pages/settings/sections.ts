// The settings sections, who may see each (the server's policy.rs rule), and which section
// a settings URL shows.
import type { Role } from "../../lib/session";

export interface Section {
  /** The URL segment: `/settings/<id>`. */
  id: string;
  label: string;
  /** Only admins may read it (policy.rs answers 403 to anyone else). */
  adminOnly?: boolean;
}

export const SECTIONS: Section[] = [
  { id: "org", label: "Organization" },
  { id: "users", label: "Users and invites" },
  { id: "teams", label: "Teams" },
  { id: "api-keys", label: "API keys", adminOnly: true },
  { id: "channels", label: "Notification channels", adminOnly: true },
  { id: "sessions", label: "Sessions" },
  { id: "security", label: "Password and 2FA" },
  { id: "audit", label: "Audit log", adminOnly: true },
  { id: "usage", label: "Usage", adminOnly: true },
];

/** The sections `role` may open, in navigation order. */
export function visibleSections(role: Role | undefined): Section[] {
  return SECTIONS.filter((s) => !s.adminOnly || role === "admin");
}

export type Resolved =
  | { kind: "redirect"; to: string }
  | { kind: "section"; section: Section; rest: string }
  | { kind: "forbidden"; section: Section }
  | { kind: "unknown"; id: string };

/** What the settings page shows for the part of the path after `/settings/`. */
export function resolveSection(path: string, role: Role | undefined): Resolved {
  const [id, ...rest] = path.split("/").filter(Boolean);
  const visible = visibleSections(role);
  if (!id) return { kind: "redirect", to: `/settings/${visible[0].id}` };
  const section = SECTIONS.find((s) => s.id === id);
  if (!section) return { kind: "unknown", id };
  if (!visible.includes(section)) return { kind: "forbidden", section };
  return { kind: "section", section, rest: rest.join("/") };
}
