// The logs explorer's pure logic: the OQL it sends (rows, volume by level, top values, live
// tail, context), how answers become rows and chart data, stable row keys for the URL, and
// mapping a server error's position back into the filter the user typed.
import type { OqlResult } from "./api";
import { fieldSql, type FieldRef } from "./oqlFilter";

export const LOG_COLUMNS = ["timestamp", "level", "service", "host", "body", "trace_id", "span_id", "attributes", "resource"] as const;

export interface LogRow {
  timestamp: string;
  level: string | null;
  service: string | null;
  host: string | null;
  body: string | null;
  trace_id: string | null;
  span_id: string | null;
  attributes: Record<string, unknown>;
  resource: Record<string, unknown>;
  /** `<timestamp>~<hash>`: identifies the line in URLs (selection, context). */
  key: string;
}

/** Severity order, most severe first: the stacking order (errors at the bottom, where they
 * are easiest to see) and the legend order. */
export const LEVEL_ORDER = ["fatal", "error", "warn", "info", "debug", "trace"];

export const ROW_LIMITS = [100, 500, 1000, 5000, 10000];
export const DEFAULT_LIMIT = 1000;

/** The row limit from the URL, clamped to the choices' range. */
export function parseLimit(text: string | null): number {
  const n = Number(text);
  if (!text || !Number.isFinite(n) || n <= 0) return DEFAULT_LIMIT;
  return Math.min(10000, Math.max(1, Math.round(n)));
}

/** The line the filter starts on in every query we build (see `withFilter`). */
const FILTER_FIRST_LINE = 3;

/**
 * `<select> FROM logs WHERE (<q>) AND <extra...> <tail>`, with the user's filter on lines of
 * its own so a server error's line and column point into it (see `filterPosition`), and in
 * parentheses so an OR inside cannot swallow the conditions we add.
 */
export function withFilter(select: string, q: string, extra: string[] = [], tail = ""): string {
  // Not trimmed: positions the server reports must line up with the text the user sees.
  const filter = q.trim() ? q : "";
  const conds = extra.filter(Boolean);
  let text = `SELECT ${select} FROM logs`;
  if (filter) text += `\nWHERE (\n${filter}\n)${conds.length ? ` AND ${conds.join(" AND ")}` : ""}`;
  else if (conds.length) text += `\nWHERE ${conds.join(" AND ")}`;
  return tail ? `${text}\n${tail}` : text;
}

/** The newest `limit` lines matching the filter. */
export function rowsQuery(q: string, limit: number): string {
  return withFilter(LOG_COLUMNS.join(", "), q, [], `ORDER BY timestamp DESC LIMIT ${limit}`);
}

/** Lines at or after `$since` (the live tail's poll; the caller drops the ones it has). */
export function tailQuery(q: string, limit: number): string {
  return withFilter(LOG_COLUMNS.join(", "), q, ["timestamp >= $since"], `ORDER BY timestamp DESC LIMIT ${limit}`);
}

/** Counts per bucket and level over the range (`bucket()` picks the step). */
export function histogramQuery(q: string): string {
  return withFilter("bucket() AS t, level, count(*) AS n", q, [], "GROUP BY t, level ORDER BY t");
}

/** The most frequent values of a field over the range. */
export function topValuesQuery(field: FieldRef, q: string, limit = 8): string {
  return withFilter(`${fieldSql(field)} AS v, count(*) AS n`, q, [], `GROUP BY v ORDER BY n DESC LIMIT ${limit}`);
}

export interface FilterPosition {
  /** 1-based line and column inside the filter text. */
  line: number;
  column: number;
}

/** Where in the user's filter a server error points, or null when it points elsewhere
 * (at a part of the query the page wrote). A position past the filter's end (an error
 * found at our closing parenthesis) is the end of the filter. */
export function filterPosition(detail: Record<string, unknown> | undefined, q: string): FilterPosition | null {
  const line = Number(detail?.line);
  const column = Number(detail?.column);
  if (!Number.isFinite(line) || !Number.isFinite(column) || !q.trim()) return null;
  const lines = q.split("\n");
  const l = line - FILTER_FIRST_LINE + 1;
  if (l < 1) return null;
  if (l > lines.length) return { line: lines.length, column: lines[lines.length - 1].length + 1 };
  return { line: l, column: Math.min(Math.max(1, column), lines[l - 1].length + 1) };
}

/** 32-bit FNV-1a as 8 hex digits: short, stable keys for lines. */
export function hash(text: string): string {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return (h >>> 0).toString(16).padStart(8, "0");
}

/** A line's key: its timestamp plus a hash of what tells lines of the same instant apart. */
export function rowKey(r: Pick<LogRow, "timestamp" | "service" | "host" | "body" | "span_id">): string {
  return `${r.timestamp}~${hash(`${r.service ?? ""}\0${r.host ?? ""}\0${r.body ?? ""}\0${r.span_id ?? ""}`)}`;
}

const asMap = (v: unknown): Record<string, unknown> => (v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
const asText = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

/** An OQL answer as log rows (columns found by name, so their order does not matter). */
export function toRows(result: OqlResult): LogRow[] {
  const idx = (name: string) => result.columns.findIndex((c) => c.name === name);
  const at = Object.fromEntries(LOG_COLUMNS.map((c) => [c, idx(c)])) as Record<(typeof LOG_COLUMNS)[number], number>;
  const out: LogRow[] = new Array(result.rows.length);
  for (let i = 0; i < result.rows.length; i++) {
    const r = result.rows[i];
    const get = (c: (typeof LOG_COLUMNS)[number]) => (at[c] >= 0 ? r[at[c]] : null);
    const row = {
      timestamp: String(get("timestamp") ?? ""),
      level: asText(get("level")),
      service: asText(get("service")),
      host: asText(get("host")),
      body: asText(get("body")),
      trace_id: asText(get("trace_id")),
      span_id: asText(get("span_id")),
      attributes: asMap(get("attributes")),
      resource: asMap(get("resource")),
      key: "",
    };
    row.key = rowKey(row);
    out[i] = row;
  }
  return out;
}

/**
 * Puts the live tail's new lines on top of the shown ones (both newest first), skipping
 * lines already shown, keeping at most `limit` (the oldest fall off). Answers how many
 * were added.
 */
export function mergeNewer(shown: LogRow[], incoming: LogRow[], limit: number): { rows: LogRow[]; added: number } {
  if (!incoming.length) return { rows: shown, added: 0 };
  const oldestIncoming = incoming[incoming.length - 1].timestamp;
  // Only shown lines at least as new as the oldest incoming one can be duplicates.
  const seen = new Set<string>();
  for (const r of shown) {
    if (r.timestamp < oldestIncoming) break;
    seen.add(r.key);
  }
  const fresh = incoming.filter((r) => !seen.has(r.key));
  if (!fresh.length) return { rows: shown, added: 0 };
  const rows = fresh.concat(shown);
  return { rows: rows.length > limit ? rows.slice(0, limit) : rows, added: fresh.length };
}

export interface Histogram {
  /** `[x seconds[], ...one series per level]` for the chart. */
  data: number[][];
  levels: string[];
  total: number;
  byLevel: Record<string, number>;
}

const levelName = (v: unknown) => (v === null || v === undefined || v === "" ? "unknown" : String(v));

/** Orders levels by severity, unknown ones after, alphabetically. */
export function sortLevels(levels: Iterable<string>): string[] {
  const rank = (l: string) => {
    const i = LEVEL_ORDER.indexOf(l);
    return i < 0 ? LEVEL_ORDER.length : i;
  };
  return [...new Set(levels)].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

/**
 * Pivots `t, level, n` rows into one zero-filled series per level over every bucket of the
 * range, so empty stretches show as gaps and bars line up across levels.
 */
export function histogramData(rows: unknown[][], stepSecs: number | null, fromMs: number, toMs: number): Histogram {
  const counts = new Map<number, Map<string, number>>();
  const byLevel: Record<string, number> = {};
  let total = 0;
  for (const [t, level, n] of rows) {
    const x = Math.round(Date.parse(String(t)) / 1000);
    if (!Number.isFinite(x)) continue;
    const l = levelName(level);
    const c = Number(n) || 0;
    const m = counts.get(x) ?? new Map<string, number>();
    m.set(l, (m.get(l) ?? 0) + c);
    counts.set(x, m);
    byLevel[l] = (byLevel[l] ?? 0) + c;
    total += c;
  }
  const xs = new Set<number>(counts.keys());
  if (stepSecs && stepSecs > 0 && toMs > fromMs) {
    const first = Math.floor(fromMs / 1000 / stepSecs) * stepSecs;
    const last = toMs / 1000;
    // Never more than a few thousand buckets, whatever the step claims.
    if ((last - first) / stepSecs <= 5000) for (let x = first; x < last; x += stepSecs) xs.add(x);
  }
  const x = [...xs].sort((a, b) => a - b);
  const levels = sortLevels(Object.keys(byLevel));
  const data = [x, ...levels.map((l) => x.map((xi) => counts.get(xi)?.get(l) ?? 0))];
  return { data, levels, total, byLevel };
}

/**
 * The map keys worth a sidebar section: the most frequent ones in a sample of rows,
 * skipping identifiers (keys whose values are nearly all different, like a request id),
 * which have no "top values".
 */
export function frequentKeys(rows: LogRow[], map: "attributes" | "resource", max = 4, skip: string[] = []): string[] {
  // Distinct values are judged on each key's first SAMPLE occurrences, to bound the work.
  const SAMPLE = 1000;
  const seen = new Map<string, { n: number; sampled: number; values: Set<string> }>();
  for (const r of rows) {
    for (const [k, v] of Object.entries(r[map])) {
      if (skip.includes(k)) continue;
      const s = seen.get(k) ?? { n: 0, sampled: 0, values: new Set<string>() };
      s.n++;
      if (s.sampled < SAMPLE) {
        s.sampled++;
        s.values.add(String(v));
      }
      seen.set(k, s);
    }
  }
  return [...seen.entries()]
    .filter(([, s]) => !(s.sampled >= 20 && s.values.size > s.sampled / 2))
    .sort((a, b) => b[1].n - a[1].n || a[0].localeCompare(b[0]))
    .slice(0, max)
    .map(([k]) => k);
}

// ---- context around a line ---------------------------------------------------------------

export interface ContextTarget {
  /** The line's timestamp (RFC 3339 with milliseconds). */
  t: string;
  service: string | null;
  host: string | null;
  /** The line's key, to highlight it. */
  key: string | null;
  /** Lines before and after. */
  n: number;
}

export const CONTEXT_SIZES = [10, 25, 50, 100];
export const DEFAULT_CONTEXT = 25;
/** How far from the line the context looks for neighbours. */
const CONTEXT_WINDOW_MS = 24 * 3600e3;

/** `/logs/context?...` for a line. A missing service or host is left out (= IS NULL). */
export function contextHref(row: Pick<LogRow, "timestamp" | "service" | "host" | "key">, n = DEFAULT_CONTEXT): string {
  const p = new URLSearchParams();
  p.set("t", row.timestamp);
  if (row.service !== null) p.set("service", row.service);
  if (row.host !== null) p.set("host", row.host);
  p.set("key", row.key);
  if (n !== DEFAULT_CONTEXT) p.set("n", String(n));
  return `/logs/context?${p.toString()}`;
}

/** Reads a context URL; null when it names no valid time. */
export function parseContext(query: URLSearchParams): ContextTarget | null {
  const t = query.get("t");
  if (!t || Number.isNaN(Date.parse(t))) return null;
  const n = Number(query.get("n"));
  return {
    t,
    service: query.get("service"),
    host: query.get("host"),
    key: query.get("key"),
    n: Number.isFinite(n) && n > 0 ? Math.min(500, Math.round(n)) : DEFAULT_CONTEXT,
  };
}

export interface PlannedQuery {
  query: string;
  params: Record<string, string>;
  from: string;
  to: string;
}

/** The two queries of a context view: lines up to the line's millisecond (newest first),
 * and lines after it (oldest first), both for the same service and host. Stored times may
 * be finer than the millisecond the answer shows, hence `< t + 1 ms` rather than `<= t`. */
export function contextQueries(target: ContextTarget): { before: PlannedQuery; after: PlannedQuery } {
  const t = Date.parse(target.t);
  const next = new Date(t + 1).toISOString();
  const params: Record<string, string> = { next };
  const conds: string[] = [];
  if (target.service === null) conds.push("service IS NULL");
  else {
    conds.push("service = $service");
    params.service = target.service;
  }
  if (target.host === null) conds.push("host IS NULL");
  else {
    conds.push("host = $host");
    params.host = target.host;
  }
  const cols = LOG_COLUMNS.join(", ");
  // A few extra lines before: others of the same millisecond may sort ahead of the line.
  const before = withFilter(cols, "", [...conds, "timestamp < $next"], `ORDER BY timestamp DESC LIMIT ${target.n + 20}`);
  const after = withFilter(cols, "", [...conds, "timestamp >= $next"], `ORDER BY timestamp ASC LIMIT ${target.n}`);
  return {
    before: { query: before, params, from: new Date(t - CONTEXT_WINDOW_MS).toISOString(), to: new Date(t + 1000).toISOString() },
    after: { query: after, params, from: new Date(t).toISOString(), to: new Date(t + CONTEXT_WINDOW_MS).toISOString() },
  };
}

/** Joins the two answers oldest first and keeps `n` lines each side of the line; answers
 * the lines and the index of the line itself (-1 when it is not there any more). */
export function contextWindow(before: LogRow[], after: LogRow[], target: ContextTarget): { rows: LogRow[]; index: number } {
  const all = before.slice().reverse().concat(after);
  let index = target.key ? all.findIndex((r) => r.key === target.key) : -1;
  // Without the line itself, centre on where it would be: after the last line before it.
  const centre = index >= 0 ? index : Math.max(0, before.length - 1);
  const start = Math.max(0, centre - target.n);
  const rows = all.slice(start, centre + target.n + 1);
  if (index >= 0) index -= start;
  return { rows, index };
}
