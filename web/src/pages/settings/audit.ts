// The audit log's filters as the URL holds them and the `GET /api/v1/audit` query they
// make; times may be typed as the time picker takes them (now-24h, RFC 3339, epoch ms).
import { parseTime } from "../../lib/time";

export interface AuditFilters {
  actor: string;
  action: string;
  from: string;
  to: string;
}

export const AUDIT_PAGE = 50;

/** The API query of the filters and cursor; throws an Error naming a time it cannot read. */
export function auditQuery(f: AuditFilters, before: string | null, now = Date.now()): Record<string, string> {
  const q: Record<string, string> = { limit: String(AUDIT_PAGE) };
  if (f.actor.trim()) q.actor = f.actor.trim();
  if (f.action.trim()) q.action = f.action.trim();
  const time = (label: string, text: string) => {
    try {
      return String(parseTime(text, now));
    } catch (e) {
      throw new Error(`${label}: ${(e as Error).message}`);
    }
  };
  if (f.from.trim()) q.from = time("From", f.from);
  if (f.to.trim()) q.to = time("To", f.to);
  if (q.from && q.to && Number(q.from) > Number(q.to)) throw new Error("From must not be after To.");
  if (before) q.before = before;
  return q;
}

/** A compact one-line view of an event's detail object: `from=viewer to=editor`. */
export function detailText(detail: unknown): string {
  if (detail === null || detail === undefined) return "";
  if (typeof detail !== "object" || Array.isArray(detail)) return JSON.stringify(detail);
  return Object.entries(detail as Record<string, unknown>)
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join(" ");
}

/** Actions the server records, offered as suggestions in the Action filter. */
export const KNOWN_ACTIONS = [
  "auth.*",
  "auth.login",
  "auth.password.change",
  "auth.totp.*",
  "api_key.*",
  "invite.*",
  "user.*",
  "team.*",
  "org.update",
  "session.revoke",
  "notification_channel.*",
  "dashboard.*",
  "alert.*",
  "silence.*",
  "annotation.*",
  "saved_query.*",
];

/** A target such as `team:01a2344f-9623-…-a4fd7d0a12bb` shortened for a table cell to its
 * kind and the id's last 8 characters (UUIDv7 ids share their leading time digits, so the
 * tail is what tells two apart). Anything else is kept as it is. */
export function shortTarget(target: string | null): string {
  if (!target) return "–";
  const m = /^([\w.-]+):([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i.exec(target);
  return m ? `${m[1]} …${m[2].slice(-8)}` : target;
}
