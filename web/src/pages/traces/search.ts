// Trace search logic, pure: the URL's filters, the OQL that finds matching traces, and
// joining the answers into one summary per trace (duration bounds apply to the whole trace).

export interface TraceFilters {
  service: string;
  /** Span name: contains, case-insensitive; `%` and `*` are wildcards. */
  name: string;
  status: string;
  /** Duration bounds as typed ("250ms", "1.5s", "200"); empty for none. */
  min: string;
  max: string;
  sort: string;
}

export const SORTS = [
  { value: "newest", label: "Newest first" },
  { value: "slowest", label: "Slowest first" },
  { value: "spans", label: "Most spans" },
  { value: "errors", label: "Most errors" },
];

export function filtersFrom(q: URLSearchParams): TraceFilters {
  return {
    service: q.get("service") ?? "",
    name: q.get("name") ?? "",
    status: q.get("status") ?? "",
    min: q.get("min") ?? "",
    max: q.get("max") ?? "",
    sort: q.get("sort") ?? "newest",
  };
}

const DURATION_UNITS: Record<string, number> = { us: 1e-3, µs: 1e-3, ms: 1, s: 1e3, m: 60e3, h: 3600e3 };

/** Milliseconds of a typed duration ("250ms", "1.5s", "2m", "90us"; a bare number is ms);
 * null when empty; throws with a readable message when it is not a duration. */
export function parseDurationInput(text: string): number | null {
  const t = text.trim().toLowerCase();
  if (!t) return null;
  const m = /^(\d+(?:\.\d+)?|\.\d+)\s*(us|µs|ms|s|m|h)?$/.exec(t);
  if (!m) throw new Error(`"${text}" is not a duration: write it like 250ms, 1.5s or 2m (a bare number is milliseconds)`);
  return Number(m[1]) * DURATION_UNITS[m[2] ?? "ms"];
}

/** The duration bounds of the filters; throws when either is malformed or min > max. */
export function durationBounds(f: Pick<TraceFilters, "min" | "max">): { min: number | null; max: number | null } {
  const min = parseDurationInput(f.min);
  const max = parseDurationInput(f.max);
  if (min !== null && max !== null && min > max) throw new Error(`the minimum duration (${f.min}) is above the maximum (${f.max})`);
  return { min, max };
}

/** The span conditions of a search (service, name, status) as OQL with bound parameters. */
export function spanCondition(f: Pick<TraceFilters, "service" | "name" | "status">): { where: string; params: Record<string, string> } {
  const parts: string[] = [];
  const params: Record<string, string> = {};
  if (f.service) {
    parts.push("service = $service");
    params.service = f.service;
  }
  const name = f.name.trim();
  if (name) {
    parts.push("name ILIKE $name");
    params.name = /[%*]/.test(name) ? name.replace(/\*/g, "%") : `%${name}%`;
  }
  if (f.status) {
    parts.push("status = $status");
    params.status = f.status;
  }
  return { where: parts.join(" AND "), params };
}

/** At most this many traces are looked at per search (the newest); the API caps answers at 10 000 rows. */
export const CANDIDATES = 2000;

/** Traces with a span matching the conditions, newest first. */
export const candidatesQuery = (where: string) =>
  `SELECT trace_id, min(timestamp) AS start FROM spans WHERE ${where} GROUP BY trace_id ORDER BY start DESC LIMIT ${CANDIDATES}`;

/** Each trace's extent and span count: over the given ids, or every trace in the range. */
export const envelopeQuery = (byIds: boolean) =>
  `SELECT trace_id, min(timestamp) AS start, max(end_timestamp) AS finish, count(*) AS spans FROM spans${byIds ? " WHERE trace_id IN ($ids)" : ""} GROUP BY trace_id ORDER BY start DESC LIMIT ${byIds ? CANDIDATES : 10000}`;

export const errorsQuery = (byIds: boolean) =>
  `SELECT trace_id, count(*) AS errors FROM spans WHERE status = 'error'${byIds ? " AND trace_id IN ($ids)" : ""} GROUP BY trace_id LIMIT 10000`;

export const rootsQuery = "SELECT trace_id, name, service FROM spans WHERE parent_span_id IS NULL AND trace_id IN ($ids) LIMIT 10000";

export interface TraceSummary {
  traceId: string;
  /** Epoch ms. */
  start: number;
  durationMs: number;
  spans: number;
  errors: number;
  rootName?: string;
  rootService?: string;
}

const ms = (v: unknown) => (typeof v === "number" ? v : Date.parse(String(v)));

/** Joins envelope rows (`trace_id, start, finish, spans`) with error counts, keeps those
 * within the duration bounds, and sorts them. */
export function summarize(
  envelopes: Record<string, unknown>[],
  errors: Record<string, unknown>[],
  bounds: { min: number | null; max: number | null },
  sort: string,
): TraceSummary[] {
  const errorsBy = new Map(errors.map((r) => [String(r.trace_id), Number(r.errors) || 0]));
  const out: TraceSummary[] = [];
  for (const r of envelopes) {
    const start = ms(r.start);
    const finish = ms(r.finish);
    if (!Number.isFinite(start)) continue;
    const durationMs = Math.max(0, (Number.isFinite(finish) ? finish : start) - start);
    if (bounds.min !== null && durationMs < bounds.min) continue;
    if (bounds.max !== null && durationMs > bounds.max) continue;
    const traceId = String(r.trace_id);
    out.push({ traceId, start, durationMs, spans: Number(r.spans) || 0, errors: errorsBy.get(traceId) ?? 0 });
  }
  const order: Record<string, (a: TraceSummary, b: TraceSummary) => number> = {
    newest: (a, b) => b.start - a.start,
    slowest: (a, b) => b.durationMs - a.durationMs || b.start - a.start,
    spans: (a, b) => b.spans - a.spans || b.start - a.start,
    errors: (a, b) => b.errors - a.errors || b.start - a.start,
  };
  return out.sort(order[sort] ?? order.newest);
}

/** The scatter's columns: x (seconds, ascending), durations of traces without errors, and
 * of traces with errors (null where a trace belongs to the other series). */
export function scatterData(traces: TraceSummary[]): { data: (number | null)[][]; order: TraceSummary[] } {
  const order = [...traces].sort((a, b) => a.start - b.start);
  return {
    order,
    data: [order.map((t) => t.start / 1000), order.map((t) => (t.errors ? null : t.durationMs)), order.map((t) => (t.errors ? t.durationMs : null))],
  };
}

/** A time range that holds the trace, for links: the lookup then reads a few minutes, not 30 days. */
export function traceLinkRange(start: number, durationMs: number): { from: string; to: string } {
  const iso = (t: number) => new Date(Math.floor(t / 1000) * 1000).toISOString().replace(".000Z", "Z");
  return { from: iso(start - 60_000), to: iso(start + durationMs + 61_000) };
}
