// Dashboards' pure logic: the SPEC §8 document types, variable values between the URL
// (`var-<name>=`) and the API, OQL answers shaped for each panel kind (time series, bars,
// stat, table), annotation and alert markers, and reading an export for import.
import type { OqlResult } from "./api";
import type { Marker } from "../components/Chart";
import type { TimeRange } from "./time";

export type Scalar = string | number | boolean;
export type PanelKind = "timeseries" | "bar" | "table" | "stat";
export const PANEL_KINDS: { value: PanelKind; label: string }[] = [
  { value: "timeseries", label: "Time series" },
  { value: "bar", label: "Bar chart" },
  { value: "table", label: "Table" },
  { value: "stat", label: "Stat" },
];
export type Bound = string | number;
export interface DocRange {
  from: Bound;
  to: Bound;
}
export interface Layout {
  x: number;
  y: number;
  w: number;
  h: number;
}
export interface Panel {
  id: string;
  title: string;
  kind: PanelKind;
  query: string;
  layout: Layout;
  options: Record<string, unknown>;
  time: DocRange | null;
  show_annotations: boolean;
}
export type VariableKind = "query" | "custom" | "text";
export interface Variable {
  name: string;
  kind: VariableKind;
  query?: string;
  options?: Scalar[];
  multi: boolean;
  default: Scalar | Scalar[] | null;
}
export interface DashboardDoc {
  title: string;
  description: string;
  tags: string[];
  time: DocRange;
  refresh: string | null;
  variables: Variable[];
  annotations: { names: string[]; tags: string[]; alerts: boolean };
  panels: Panel[];
}
export interface Dashboard extends DashboardDoc {
  id: string;
  version: number;
  created_by: string;
  updated_by: string;
  created_at: string;
  updated_at: string;
}
export interface DashboardSummary {
  id: string;
  title: string;
  description: string;
  tags: string[];
  version: number;
  created_by: string;
  updated_by: string;
  created_at: string;
  updated_at: string;
}
export interface VersionInfo {
  version: number;
  created_by: string;
  created_at: string;
  restored_from: number | null;
}
export interface VersionDoc extends VersionInfo {
  dashboard_id: string;
  document: DashboardDoc;
}

/** The members of a dashboard that are not its document. */
const NOT_DOC = ["id", "version", "created_by", "updated_by", "created_at", "updated_at"] as const;

/** A dashboard's document: what a save sends and what export answers. */
export function docOf(d: Dashboard | DashboardDoc): DashboardDoc {
  const copy = structuredClone(d) as unknown as Record<string, unknown>;
  for (const k of NOT_DOC) delete copy[k];
  return copy as unknown as DashboardDoc;
}

/** A new, empty dashboard's document. */
export function newDoc(title: string): DashboardDoc {
  return {
    title: title.trim(),
    description: "",
    tags: [],
    time: { from: "now-6h", to: "now" },
    refresh: null,
    variables: [],
    annotations: { names: [], tags: [], alerts: true },
    panels: [],
  };
}

/** The default size of a new panel of each kind, in grid cells. */
export function defaultSize(kind: PanelKind): { w: number; h: number } {
  return kind === "stat" ? { w: 6, h: 4 } : { w: 12, h: 8 };
}

/** A panel id not used yet: `<kind>-<n>`. */
export function nextPanelId(panels: { id: string }[], kind: PanelKind): string {
  const used = new Set(panels.map((p) => p.id));
  for (let n = 1; ; n++) if (!used.has(`${kind}-${n}`)) return `${kind}-${n}`;
}

/** A document time bound as the URL and the picker write it. */
export const boundText = (b: Bound) => String(b);
export const docRange = (r: DocRange): TimeRange => ({ from: boundText(r.from), to: boundText(r.to) });

// ---- variables ------------------------------------------------------------------------

export const varParam = (name: string) => `var-${name}`;

/** A URL string back as the option it names (numbers and booleans keep their type). */
export function coerce(text: string, options: Scalar[] | undefined): Scalar {
  const hit = options?.find((o) => String(o) === text);
  return hit ?? text;
}

/** The variable values the URL gives (only those it names): what a panel run sends, so
 * the server applies defaults to the rest. */
export function urlValues(variables: Variable[], query: URLSearchParams, options: Record<string, Scalar[] | undefined> = {}): Record<string, Scalar | Scalar[]> {
  const out: Record<string, Scalar | Scalar[]> = {};
  for (const v of variables) {
    const given = query.getAll(varParam(v.name));
    if (!given.length) continue;
    const known = options[v.name] ?? v.options;
    if (v.multi) out[v.name] = given.map((g) => coerce(g, known));
    else out[v.name] = coerce(given[0], known);
  }
  return out;
}

/** Every variable's value as a run binds it: the URL's, else the default, else (as the
 * server does for a dashboard opened fresh) a text's empty string, a multi's every option,
 * or a single's first option. `undefined` while options are unknown. */
export function resolvedValues(variables: Variable[], query: URLSearchParams, options: Record<string, Scalar[] | undefined>): Record<string, Scalar | Scalar[] | undefined> {
  const given = urlValues(variables, query, options);
  const out: Record<string, Scalar | Scalar[] | undefined> = {};
  for (const v of variables) {
    if (v.name in given) out[v.name] = given[v.name];
    else if (v.default !== null && v.default !== undefined) out[v.name] = v.multi && !Array.isArray(v.default) ? [v.default] : v.default;
    else if (v.kind === "text") out[v.name] = "";
    else {
      const opts = v.kind === "custom" ? v.options : options[v.name];
      out[v.name] = opts === undefined ? undefined : v.multi ? opts : opts[0];
    }
  }
  return out;
}

/** The query string with variable `name` set to `values` (none: back to its default). */
export function withVariable(search: string, name: string, values: string[] | null): string {
  const q = new URLSearchParams(search);
  q.delete(varParam(name));
  for (const v of values ?? []) q.append(varParam(name), v);
  const s = q.toString();
  return s ? `?${s}` : "";
}

/** Custom options typed as `a, b, c`: trimmed, blanks dropped, numbers kept as text (the
 * server compares options exactly, and people type what they mean). */
export function parseOptions(text: string): string[] {
  return [
    ...new Set(
      text
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ];
}

/** The distinct non-null values of a result's first column, as a variable offers them. */
export function optionsFromResult(result: OqlResult, max = 1000): Scalar[] {
  const seen = new Set<string>();
  const out: Scalar[] = [];
  for (const row of result.rows) {
    const v = row[0];
    if (v === null || v === undefined || typeof v === "object") continue;
    const key = JSON.stringify(v);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(v as Scalar);
    if (out.length >= max) break;
  }
  return out;
}

/** The `$names` a query uses (outside strings and comments), as the server binds them. */
export function referencedVariables(query: string): string[] {
  const stripped = query
    .replace(/'(?:[^']|'')*'/g, "''")
    .replace(/"(?:[^"]|"")*"/g, '""')
    .replace(/--[^\n]*/g, "");
  return [...new Set([...stripped.matchAll(/\$([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]))];
}

// ---- answers shaped for panels --------------------------------------------------------

const NUMERIC = new Set(["integer", "float"]);

/** Index of the time column: the first `timestamp` column. */
function timeColumn(result: OqlResult): number {
  return result.columns.findIndex((c) => c.type === "timestamp");
}

function toSeconds(v: unknown): number | null {
  if (typeof v === "number") return v > 1e11 ? v / 1000 : v;
  if (typeof v === "string") {
    const ms = Date.parse(v);
    return Number.isNaN(ms) ? null : ms / 1000;
  }
  return null;
}

export interface SeriesData {
  /** `[x seconds, ...one array per series]`, aligned. */
  data: (number | null)[][];
  labels: string[];
}

/** A bucketed answer as chart series: one per value column and group (the string-valued
 * columns), aligned on the union of the times. Missing buckets of integer columns are 0
 * (counts); of float columns, gaps. Null when the answer has no time column. */
export function toSeries(result: OqlResult): SeriesData | null {
  const t = timeColumn(result);
  if (t < 0) return null;
  const values = result.columns.map((c, i) => ({ ...c, i })).filter((c) => c.i !== t && NUMERIC.has(c.type));
  const groups = result.columns.map((c, i) => ({ ...c, i })).filter((c) => c.i !== t && !NUMERIC.has(c.type));
  if (!values.length) return { data: [[]], labels: [] };
  const times = new Set<number>();
  const byKey = new Map<string, { label: string; zero: boolean; points: Map<number, number | null> }>();
  for (const row of result.rows) {
    const x = toSeconds(row[t]);
    if (x === null) continue;
    times.add(x);
    const group = groups.map((g) => (row[g.i] === null || row[g.i] === undefined ? "∅" : String(row[g.i]))).join(" · ");
    for (const v of values) {
      const key = `${group}\u0000${v.name}`;
      let s = byKey.get(key);
      if (!s) {
        const label = group ? (values.length > 1 ? `${group} · ${v.name}` : group) : v.name;
        s = { label, zero: v.type === "integer", points: new Map() };
        byKey.set(key, s);
      }
      const n = row[v.i];
      s.points.set(x, typeof n === "number" ? n : n === null || n === undefined ? null : Number(n));
    }
  }
  const xs = [...times].sort((a, b) => a - b);
  const series = [...byKey.values()];
  return {
    data: [xs, ...series.map((s) => xs.map((x) => (s.points.has(x) ? s.points.get(x)! : s.zero ? 0 : null)))],
    labels: series.map((s) => s.label),
  };
}

/** A stat panel's number: the last numeric column of the first row (else its first
 * value), with that column's name. */
export function toStat(result: OqlResult): { value: unknown; column: string } | null {
  const row = result.rows[0];
  if (!row || !result.columns.length) return null;
  let i = -1;
  for (let c = result.columns.length - 1; c >= 0; c--) {
    if (NUMERIC.has(result.columns[c].type)) {
      i = c;
      break;
    }
  }
  if (i < 0) i = 0;
  return { value: row[i], column: result.columns[i].name };
}

/** Bars of an answer without a time column: a label from the non-numeric columns and the
 * first numeric column's value, largest first. */
export function toBars(result: OqlResult): { label: string; value: number }[] {
  const v = result.columns.findIndex((c) => NUMERIC.has(c.type));
  if (v < 0) return [];
  const labels = result.columns.map((c, i) => ({ ...c, i })).filter((c) => c.i !== v && !NUMERIC.has(c.type));
  return result.rows
    .map((row) => ({
      label: labels.length ? labels.map((l) => String(row[l.i] ?? "∅")).join(" · ") : result.columns[v].name,
      value: Number(row[v] ?? 0),
    }))
    .sort((a, b) => b.value - a.value);
}

// ---- annotations ----------------------------------------------------------------------

export interface AnnotationAnswer {
  annotations: { id: string; name: string; title: string; text?: string | null; tags: string[]; time: string; time_end?: string | null }[];
  alert_transitions: { rule_id: string; rule_name: string; at: string; fingerprint: string; labels: Record<string, string>; from: string; to: string; value: number | null }[];
  truncated: boolean;
}

/** The markers a time-series panel draws: annotations (spans when they have an end), and
 * alert transitions into firing (or error / no data) and back to normal. */
export function markersOf(answer: AnnotationAnswer): Marker[] {
  const out: Marker[] = [];
  for (const a of answer.annotations) {
    const time = Date.parse(a.time);
    if (Number.isNaN(time)) continue;
    const end = a.time_end ? Date.parse(a.time_end) : NaN;
    out.push({ time, ...(Number.isNaN(end) ? {} : { timeEnd: end }), title: `${a.title} (${a.name})`, kind: "annotation" });
  }
  for (const t of answer.alert_transitions) {
    const time = Date.parse(t.at);
    if (Number.isNaN(time) || t.to === "pending") continue;
    const labels = Object.entries(t.labels)
      .filter(([k]) => k !== "alertname")
      .map(([k, v]) => `${k}=${v}`)
      .join(", ");
    const value = t.value === null || t.value === undefined ? "" : ` at ${t.value}`;
    out.push({
      time,
      title: `${t.rule_name}: ${t.from} → ${t.to}${value}${labels ? ` (${labels})` : ""}`,
      kind: t.to === "normal" ? "alert-resolved" : "alert-firing",
    });
  }
  return out.sort((a, b) => a.time - b.time);
}

// ---- import ---------------------------------------------------------------------------

/** Reads pasted or uploaded export JSON; throws an Error saying what is wrong. A whole
 * dashboard (what GET answers) is accepted too: its id, version, authors and times are
 * dropped, since import makes a new dashboard. */
export function parseImport(text: string): DashboardDoc {
  if (!text.trim()) throw new Error("Paste a dashboard's export JSON, or choose its file.");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new Error(`That is not JSON: ${(e as Error).message}`);
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) throw new Error("The export is a JSON object with a title and panels, like Export downloads.");
  const doc = value as Record<string, unknown>;
  if (typeof doc.title !== "string") throw new Error('The export needs a "title" (a string).');
  for (const k of NOT_DOC) delete doc[k];
  return doc as unknown as DashboardDoc;
}

/** The file name an export downloads as. */
export function exportFileName(title: string): string {
  const slug = title
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 60);
  return `${slug || "dashboard"}.dashboard.json`;
}

/** Whether two documents are the same (for "unsaved changes"). */
export const sameDoc = (a: DashboardDoc, b: DashboardDoc) => JSON.stringify(a) === JSON.stringify(b);

// ---- display options (the panel's `options`, which the server stores as given) --------

const NAMED: Record<string, string> = { red: "var(--bad)", green: "var(--ok)", orange: "var(--warn)", yellow: "var(--warn)", blue: "var(--accent)" };

/** The colour of a stat's value under `options.thresholds` (`[{value, color}]`): the
 * colour of the highest threshold it reaches, or none. Unknown colour words are ignored. */
export function thresholdColor(value: unknown, thresholds: unknown): string | undefined {
  if (typeof value !== "number" || !Array.isArray(thresholds)) return undefined;
  let best: { value: number; color: string } | undefined;
  for (const t of thresholds) {
    if (!t || typeof t.value !== "number" || typeof t.color !== "string") continue;
    if (value >= t.value && (!best || t.value >= best.value)) best = t;
  }
  if (!best) return undefined;
  const c = best.color.trim().toLowerCase();
  if (NAMED[c]) return NAMED[c];
  return /^#[0-9a-f]{3,8}$/.test(c) ? c : undefined;
}
