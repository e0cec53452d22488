// Silences in the dashboard: matchers as the form writes them (`service=~check.*`, one a
// line), whether a silence is active, scheduled or expired, and its end from a duration.
import { durationMs } from "./time";

export type MatchOp = "=" | "!=" | "=~" | "!~";

export interface Matcher {
  label: string;
  op: MatchOp;
  value: string;
}

export interface Silence {
  id: string;
  matchers: Matcher[];
  rule_id: string | null;
  starts_at: string;
  ends_at: string;
  comment: string;
  created_by: { kind: string; id: string | null; name: string };
  created_at: string;
  updated_at: string;
}

/** The body of `POST`/`PUT /api/v1/silences`. */
export interface SilenceBody {
  matchers: Matcher[];
  rule_id?: string | null;
  starts_at?: string;
  ends_at: string;
  comment: string;
}

const MATCHER = /^\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$/;

/** One matcher a line: `label op value`, op one of `= != =~ !~`; a value in double quotes
 * keeps its spaces. Answers the matchers or the first bad line. */
export function parseMatchers(text: string): { matchers: Matcher[]; error?: string } {
  const matchers: Matcher[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i].trim()) continue;
    const m = MATCHER.exec(lines[i]);
    if (!m) return { matchers, error: `line ${i + 1}: write label=value, label!=value, label=~regex or label!~regex (got "${lines[i].trim()}")` };
    let value = m[3];
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    matchers.push({ label: m[1], op: m[2] as MatchOp, value });
  }
  if (!matchers.length) return { matchers, error: "at least one matcher is needed, e.g. service=checkout" };
  return { matchers };
}

export function formatMatcher(m: Matcher): string {
  const quote = m.value !== m.value.trim() || m.value === "";
  return `${m.label}${m.op}${quote ? `"${m.value}"` : m.value}`;
}

export const formatMatchers = (ms: Matcher[]) => ms.map(formatMatcher).join("\n");

export type SilenceStatus = "active" | "scheduled" | "expired";

export function silenceStatus(s: Pick<Silence, "starts_at" | "ends_at">, now: number = Date.now()): SilenceStatus {
  if (Date.parse(s.ends_at) <= now) return "expired";
  if (Date.parse(s.starts_at) > now) return "scheduled";
  return "active";
}

/** The end of a silence lasting `duration` (e.g. `2h`) from `start`; throws saying what a
 * duration is when it is not one. */
export function endFromDuration(start: number, duration: string): number {
  const ms = durationMs(duration);
  if (ms === null || ms <= 0) throw new Error(`"${duration}" is not a duration: write a number and a unit, e.g. 30m, 2h, 1d`);
  return start + ms;
}

const pad = (n: number) => String(n).padStart(2, "0");

/** Epoch ms as the value of a `datetime-local` input, in the browser's zone. */
export function toLocalInput(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A `datetime-local` value (the browser's zone) as epoch ms; null when empty or invalid. */
export function fromLocalInput(value: string): number | null {
  if (!value.trim()) return null;
  const ms = new Date(value).getTime();
  return Number.isNaN(ms) ? null : ms;
}

/** Matchers that select one alert instance of a rule: each of its labels exactly, but
 * `alertname` (the silence names the rule) and `severity` (it changes while firing). */
export function matchersForLabels(labels: Record<string, string>): Matcher[] {
  return Object.entries(labels)
    .filter(([k]) => k !== "severity" && k !== "alertname")
    .map(([label, value]) => ({ label, op: "=" as const, value }));
}

function matcherHolds(m: Matcher, labels: Record<string, string>): boolean {
  const v = labels[m.label] ?? "";
  if (m.op === "=") return v === m.value;
  if (m.op === "!=") return v !== m.value;
  let re: RegExp;
  try {
    // Anchored like the server's (Alertmanager's) regexes.
    re = new RegExp(`^(?:${m.value})$`);
  } catch {
    return false;
  }
  return m.op === "=~" ? re.test(v) : !re.test(v);
}

/** The silence in force that holds back an instance's notifications, if any: every matcher
 * holds against its labels, and the silence names its rule or no rule. */
export function silencing(instance: { rule_id: string; labels: Record<string, string> }, silences: Silence[], now: number = Date.now()): Silence | undefined {
  return silences.find((s) => silenceStatus(s, now) === "active" && (!s.rule_id || s.rule_id === instance.rule_id) && s.matchers.every((m) => matcherHolds(m, instance.labels)));
}
