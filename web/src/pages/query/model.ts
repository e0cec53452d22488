// The query page's pure parts: how a result cell reads, parameter values typed as text,
// and a dashboard document with one more panel holding the query.
import { formatTimestamp } from "../../lib/format";
import { tableOf } from "../../lib/oqlLanguage";

export interface Cell {
  text: string;
  /** The full value, when `text` shortens or reformats it. */
  title?: string;
  kind: "null" | "num" | "text" | "json" | "time" | "bool";
}

const MAX_CELL_CHARS = 300;
const clip = (s: string) => (s.length > MAX_CELL_CHARS ? `${s.slice(0, MAX_CELL_CHARS)}…` : s);

/** How a value of an OQL column type reads in the results table. Numbers keep their
 * digits (people compare them with other tools), floats to six significant digits. */
export function formatCell(value: unknown, type: string): Cell {
  if (value === null || value === undefined) return { text: "null", kind: "null" };
  if (typeof value === "number") {
    if (Number.isInteger(value)) return { text: String(value), kind: "num" };
    const short = String(Number(value.toPrecision(6)));
    return { text: short, title: short === String(value) ? undefined : String(value), kind: "num" };
  }
  if (typeof value === "boolean") return { text: String(value), kind: "bool" };
  if (type === "timestamp" && (typeof value === "string" || typeof value === "number")) {
    return { text: formatTimestamp(value), title: String(value), kind: "time" };
  }
  if (typeof value === "object") {
    const json = JSON.stringify(value);
    return { text: clip(json), title: json.length > MAX_CELL_CHARS ? json : undefined, kind: "json" };
  }
  const s = String(value);
  return { text: clip(s), title: s.length > MAX_CELL_CHARS || s.includes("\n") ? s : undefined, kind: "text" };
}

/** A parameter's value as typed: JSON when it reads as JSON (`42`, `true`, `["a","b"]`),
 * else the text itself (a string). */
export function parseParamValue(text: string): unknown {
  const t = text.trim();
  if (/^(-?\d+(\.\d+)?([eE][+-]?\d+)?|true|false|null|\[.*\]|".*")$/s.test(t)) {
    try {
      return JSON.parse(t);
    } catch {
      /* not JSON after all */
    }
  }
  return text;
}

export type PanelKind = "timeseries" | "bar" | "table" | "stat";

export interface PanelDoc {
  id: string;
  title: string;
  kind: PanelKind;
  query: string;
  layout: { x: number; y: number; w: number; h: number };
  options?: Record<string, unknown>;
  time?: unknown;
  show_annotations?: boolean;
}

export interface DashboardDoc {
  title: string;
  panels: PanelDoc[];
  [member: string]: unknown;
}

/** The panel kind that suits a query and its answer: a time series for bucketed (or
 * charted) answers, a stat for one number, else a table. */
export function suggestKind(query: string, answer: { columns: { type: string }[]; rows: unknown[][] } | undefined, charted: boolean): PanelKind {
  if (charted || /\bbucket\s*\(/i.test(query)) return "timeseries";
  if (answer && answer.rows.length === 1 && answer.columns.length === 1 && /^(integer|float)$/.test(answer.columns[0].type)) return "stat";
  return "table";
}

/** A short title for a panel showing `query`: its table and what it selects. */
export function panelTitle(query: string): string {
  const m = /select\s+(distinct\s+)?([\s\S]*?)\s+from\s/i.exec(query);
  const items = (m ? m[2] : query).replace(/\s+/g, " ").trim();
  const table = tableOf(query);
  const text = table ? `${table}: ${items}` : items;
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
}

function slug(title: string): string {
  const s = title
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 40)
    .replace(/-+$/, "");
  return s || "query";
}

/** The document with a new panel at the bottom of the grid; answers the panel's id too. */
export function appendPanel(doc: DashboardDoc, panel: { title: string; kind: PanelKind; query: string }): { doc: DashboardDoc; id: string } {
  const panels = doc.panels ?? [];
  const taken = new Set(panels.map((p) => p.id));
  const base = slug(panel.title);
  let id = base;
  for (let n = 2; taken.has(id); n++) id = `${base}-${n}`;
  const y = panels.reduce((m, p) => Math.max(m, p.layout.y + p.layout.h), 0);
  const size = panel.kind === "table" ? { w: 24, h: 10 } : panel.kind === "stat" ? { w: 6, h: 4 } : { w: 12, h: 8 };
  const added: PanelDoc = { id, title: panel.title, kind: panel.kind, query: panel.query, layout: { x: 0, y, ...size }, options: {}, time: null, show_annotations: true };
  return { doc: { ...doc, panels: [...panels, added] }, id };
}

/** A dashboard as GET answers it, less the members a PUT does not set. */
export function editableDoc(dashboard: Record<string, unknown>): DashboardDoc {
  const { id: _id, version: _v, created_by: _cb, updated_by: _ub, created_at: _ca, updated_at: _ua, ...doc } = dashboard;
  return doc as DashboardDoc;
}
