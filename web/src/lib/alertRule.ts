// Alert rules in the dashboard: the API's rule JSON, the editor's draft (every field as
// typed) and the conversions between them, where an API error belongs in the form, and the
// one state word a rule shows in the list.
import { ApiError } from "./api";
import { toneOf } from "../components/ui";

export type Op = ">" | ">=" | "<" | "<=" | "==" | "!=";
export type Reducer = "last" | "min" | "max" | "avg" | "sum";
export type NoDataPolicy = "ok" | "no_data" | "firing" | "keep_last";
export type ErrorPolicy = "error" | "ok" | "firing" | "keep_last";

export const OPS: Op[] = [">", ">=", "<", "<=", "==", "!="];
export const REDUCERS: Reducer[] = ["last", "min", "max", "avg", "sum"];
export const NO_DATA_POLICIES: NoDataPolicy[] = ["ok", "no_data", "firing", "keep_last"];
export const ERROR_POLICIES: ErrorPolicy[] = ["error", "ok", "firing", "keep_last"];

export interface Condition {
  op: Op;
  threshold: number;
  warning?: number | null;
  recovery?: number | null;
  reducer?: Reducer;
}

/** The writable fields of a rule (`POST`/`PUT /api/v1/alerts`, and the preview's `rule`). */
export interface RuleBody {
  name: string;
  description: string;
  query: string;
  window: string;
  interval: string;
  condition: Condition;
  pending_for: string;
  keep_firing_for: string;
  no_data: NoDataPolicy;
  on_error: ErrorPolicy;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  channels: string[];
  repeat_interval: string;
  send_resolved: boolean;
  paused: boolean;
}

/** A rule as the API answers it. */
export interface AlertRule extends RuleBody {
  id: string;
  /** `unknown` (never evaluated), `ok`, `error`, `no_data`. */
  health: string;
  last_eval_at: string | null;
  last_error: string | null;
  next_eval_at: string | null;
  created_by: { kind: string; id: string | null; name: string };
  created_at: string;
  updated_at: string;
}

/** An instance of a rule (`GET /alerts/{id}/instances`, `GET /alert-instances`). */
export interface AlertInstance {
  rule_id: string;
  rule_name?: string;
  fingerprint: string;
  labels: Record<string, string>;
  /** `normal`, `pending`, `firing`, `no_data`, `error`. */
  state: string;
  value: number | null;
  since: string;
  last_eval_at?: string;
}

export interface Transition {
  at: string;
  fingerprint: string;
  labels: Record<string, string>;
  from: string;
  to: string;
  value: number | null;
}

/** The editor's form: text where the user types, so half-typed values survive. */
export interface Draft {
  name: string;
  description: string;
  query: string;
  window: string;
  interval: string;
  op: Op;
  threshold: string;
  warning: string;
  recovery: string;
  reducer: Reducer;
  pending_for: string;
  keep_firing_for: string;
  no_data: NoDataPolicy;
  on_error: ErrorPolicy;
  /** `name=value`, one a line. */
  labels: string;
  annotations: string;
  channels: string[];
  repeat_interval: string;
  send_resolved: boolean;
  paused: boolean;
}

export const EXAMPLE_QUERY = "SELECT service, count(*) AS value FROM logs WHERE level = 'error' GROUP BY service";

/** A new rule, with the API's defaults (SPEC §8). */
export const NEW_DRAFT: Draft = {
  name: "",
  description: "",
  query: EXAMPLE_QUERY,
  window: "5m",
  interval: "1m",
  op: ">",
  threshold: "",
  warning: "",
  recovery: "",
  reducer: "last",
  pending_for: "0s",
  keep_firing_for: "0s",
  no_data: "ok",
  on_error: "error",
  labels: "",
  annotations: "summary={{labels.service}}: {{value}} errors in {{window}}",
  channels: [],
  repeat_interval: "4h",
  send_resolved: true,
  paused: false,
};

const num = (n: number | null | undefined) => (n === null || n === undefined ? "" : String(n));

/** `{a: "1", b: "2"}` → "a=1\nb=2". */
export function formatPairs(pairs: Record<string, string> | null | undefined): string {
  return Object.entries(pairs ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join("\n");
}

/** "a=1\nb = 2" → `{a: "1", b: "2"}`; blank lines are skipped. A line without `=` is an
 * error naming its number (the value may itself hold `=`: only the first one splits). */
export function parsePairs(text: string): { pairs: Record<string, string>; error?: string } {
  const pairs: Record<string, string> = {};
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (!line) continue;
    const eq = line.indexOf("=");
    if (eq <= 0) return { pairs, error: `line ${i + 1}: write name=value (got "${line}")` };
    const key = line.slice(0, eq).trim();
    if (key in pairs) return { pairs, error: `line ${i + 1}: ${key} is given twice` };
    pairs[key] = line.slice(eq + 1).trim();
  }
  return { pairs };
}

/** The form of a stored rule. */
export function draftOf(rule: AlertRule): Draft {
  return {
    name: rule.name,
    description: rule.description ?? "",
    query: rule.query,
    window: rule.window,
    interval: rule.interval,
    op: rule.condition.op,
    threshold: num(rule.condition.threshold),
    warning: num(rule.condition.warning),
    recovery: num(rule.condition.recovery),
    reducer: rule.condition.reducer ?? "last",
    pending_for: rule.pending_for ?? "0s",
    keep_firing_for: rule.keep_firing_for ?? "0s",
    no_data: rule.no_data ?? "ok",
    on_error: rule.on_error ?? "error",
    labels: formatPairs(rule.labels),
    annotations: formatPairs(rule.annotations),
    channels: [...(rule.channels ?? [])],
    repeat_interval: rule.repeat_interval ?? "4h",
    send_resolved: rule.send_resolved ?? true,
    paused: !!rule.paused,
  };
}

/** Problems found before asking the server, keyed like the server's `field` paths. */
export type FieldErrors = Record<string, string>;

function number(text: string, field: string, errors: FieldErrors, required: boolean): number | null {
  const t = text.trim();
  if (!t) {
    if (required) errors[field] = "is required: a number, e.g. 50";
    return null;
  }
  const n = Number(t);
  if (!Number.isFinite(n)) {
    errors[field] = `"${t}" is not a number`;
    return null;
  }
  return n;
}

/** The API body of a draft, or the problems that keep it from being one. Only what cannot
 * be sent as JSON is checked here (numbers, label lines, required text); ranges, templates
 * and the query are the server's to judge, and its answer names the field. */
export function bodyOf(d: Draft): { body: RuleBody | null; errors: FieldErrors } {
  const errors: FieldErrors = {};
  if (!d.name.trim()) errors.name = "is required";
  if (!d.query.trim()) errors.query = "is required: a SELECT whose numeric column (named value, or the last number) is compared";
  const threshold = number(d.threshold, "condition.threshold", errors, true);
  const warning = number(d.warning, "condition.warning", errors, false);
  const recovery = number(d.recovery, "condition.recovery", errors, false);
  const labels = parsePairs(d.labels);
  if (labels.error) errors.labels = labels.error;
  const annotations = parsePairs(d.annotations);
  if (annotations.error) errors.annotations = annotations.error;
  for (const f of ["window", "interval", "pending_for", "keep_firing_for", "repeat_interval"] as const) {
    if (!d[f].trim()) errors[f] = "is required: a duration such as 30s, 5m, 1h";
  }
  const bad = d.channels.find((c) => !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(c));
  if (bad !== undefined) errors.channels = `"${bad}" is not a channel id (a UUID such as 0190c9e2-…)`;
  if (Object.keys(errors).length) return { body: null, errors };
  const condition: Condition = { op: d.op, threshold: threshold!, reducer: d.reducer };
  if (warning !== null) condition.warning = warning;
  if (recovery !== null) condition.recovery = recovery;
  return {
    body: {
      name: d.name.trim(),
      description: d.description,
      query: d.query,
      window: d.window.trim(),
      interval: d.interval.trim(),
      condition,
      pending_for: d.pending_for.trim(),
      keep_firing_for: d.keep_firing_for.trim(),
      no_data: d.no_data,
      on_error: d.on_error,
      labels: labels.pairs,
      annotations: annotations.pairs,
      channels: d.channels,
      repeat_interval: d.repeat_interval.trim(),
      send_resolved: d.send_resolved,
      paused: d.paused,
    },
    errors,
  };
}

/** Channel ids typed into one field: separated by commas, spaces or lines. */
export function parseIds(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/** The form field an API error is about, from its `field` path: the preview's `rule.`
 * prefix dropped, and `labels.team` → `labels` (one text box holds them all). Null when
 * the error names no field of the form. */
export function fieldOf(error: unknown): string | null {
  if (!(error instanceof ApiError)) return null;
  const raw = error.detail.field;
  if (typeof raw !== "string") return null;
  const field = raw.replace(/^rule\.?/, "");
  if (/^(labels|annotations|channels)(\.|$)/.test(field)) return field.split(".")[0];
  if (/^matchers(\.|$)/.test(field)) return "matchers";
  if (field === "condition") return "condition.threshold";
  return field || null;
}

/** The error's message without the field path it starts with ("rule.condition.warning: 60
 * must be…" → "60 must be…"): the form already shows it next to the field. */
export function fieldMessage(error: unknown): string {
  let message = error instanceof Error ? error.message : String(error);
  if (!(error instanceof ApiError) || typeof error.detail.field !== "string") return message;
  let field = error.detail.field;
  // The preview names fields inside its `rule` and prefixes the message the same way, even
  // one that did not start with its field ("rule.table `logs` has no column…").
  if (/^rule(\.|$)/.test(field) && message.startsWith("rule.")) {
    message = message.slice("rule.".length);
    field = field.replace(/^rule\.?/, "");
  }
  if (field && message.startsWith(`${field}: `)) return message.slice(field.length + 2);
  return message;
}

/** Where an OQL error in the query is: "line 1, column 8" and the hint, when given. */
export function queryPosition(error: unknown): string | null {
  if (!(error instanceof ApiError)) return null;
  const { line, column, hint } = error.detail as { line?: number; column?: number; hint?: string };
  const parts: string[] = [];
  if (typeof line === "number") parts.push(`line ${line}${typeof column === "number" ? `, column ${column}` : ""}`);
  if (typeof hint === "string" && hint) parts.push(`hint: ${hint}`);
  return parts.length ? parts.join(" · ") : null;
}

/** A rule's one state word in the list: paused, error, firing, pending, nodata, ok, or
 * unknown (never evaluated). The rule's health says how its last evaluation went; its
 * instances say what fires. */
export type RuleState = "paused" | "error" | "firing" | "pending" | "nodata" | "ok" | "unknown";
export const RULE_STATES: RuleState[] = ["firing", "pending", "error", "nodata", "ok", "paused", "unknown"];

export function ruleState(rule: Pick<AlertRule, "paused" | "health">, instances: Pick<AlertInstance, "state">[]): RuleState {
  if (rule.paused) return "paused";
  if (rule.health === "error" || instances.some((i) => i.state === "error")) return "error";
  if (instances.some((i) => i.state === "firing")) return "firing";
  if (instances.some((i) => i.state === "pending")) return "pending";
  if (rule.health === "no_data" || instances.some((i) => i.state === "no_data")) return "nodata";
  if (rule.health === "unknown") return "unknown";
  return "ok";
}

/** The badge tone of a rule or instance state (`normal` is fine, `unknown` is grey). */
export function stateTone(state: string) {
  if (state === "normal") return "ok" as const;
  if (state === "unknown" || state === "none") return "muted" as const;
  return toneOf(state);
}

/** Words for a state: `no_data` and `nodata` read "no data". */
export const stateLabel = (state: string) => (state === "no_data" || state === "nodata" ? "no data" : state);

/** "value > 50 (warning 20, recovery 30; last)". */
export function conditionText(c: Condition): string {
  const extra = [c.warning != null ? `warning ${c.warning}` : "", c.recovery != null ? `recovery ${c.recovery}` : ""].filter(Boolean).join(", ");
  return `value ${c.op} ${c.threshold}${extra ? ` (${extra})` : ""}`;
}

/** An instance's labels without the rule's own and `alertname` (the same on every
 * instance), as "service=checkout, host=web-1"; `fallback` when none is left. */
export function labelText(labels: Record<string, string>, ruleLabels: Record<string, string> = {}, fallback = "(no labels)"): string {
  const own = Object.entries(labels).filter(([k, v]) => k !== "alertname" && k !== "severity" && ruleLabels[k] !== v);
  return own.length ? own.map(([k, v]) => `${k}=${v}`).join(", ") : fallback;
}
