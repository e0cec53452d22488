// Whether a query result is a time series and, if so, its chart: x is the first timestamp
// column, each numeric column a series, split by the string columns (one series per
// group such as a service). Bucketed results fill the empty buckets.
import type { OqlResult } from "../../lib/api";
import { stepSeconds } from "../../lib/format";

export interface ResultChart {
  /** `[x seconds[], ...series]`, as the Chart component takes it. */
  data: (number | null)[][];
  series: { label: string; kind: "line" | "points" }[];
  /** Series left out because there were too many (the smallest go). */
  dropped: number;
  bucketed: boolean;
}

const NUMERIC = new Set(["integer", "float"]);
/** Most points on the x axis when filling empty buckets. */
const MAX_FILLED = 5000;

export function chartOf(result: OqlResult, maxSeries = 12): ResultChart | null {
  const cols = result.columns;
  const timeIdx = cols.findIndex((c) => c.type === "timestamp");
  if (timeIdx < 0) return null;
  const valueIdx = cols.map((c, i) => (i !== timeIdx && NUMERIC.has(c.type) ? i : -1)).filter((i) => i >= 0);
  if (!valueIdx.length) return null;
  const groupIdx = cols.map((c, i) => (i !== timeIdx && (c.type === "string" || c.type === "boolean") ? i : -1)).filter((i) => i >= 0);
  const bucket = typeof result.stats?.bucket === "string" ? result.stats.bucket : null;
  const step = bucket ? stepSeconds(bucket) : null;

  // key -> x -> value
  const byKey = new Map<string, Map<number, number | null>>();
  const xs = new Set<number>();
  for (const row of result.rows) {
    const t = row[timeIdx];
    const ms = typeof t === "number" ? t : typeof t === "string" ? Date.parse(t) : NaN;
    if (!Number.isFinite(ms)) continue;
    const x = ms / 1000;
    xs.add(x);
    const group = groupIdx.map((g) => (row[g] === null || row[g] === undefined ? "(null)" : String(row[g]))).join(" · ");
    for (const v of valueIdx) {
      const key = group && valueIdx.length > 1 ? `${group} · ${cols[v].name}` : group || cols[v].name;
      let points = byKey.get(key);
      if (!points) byKey.set(key, (points = new Map()));
      const value = row[v];
      points.set(x, typeof value === "number" ? value : value === null || value === undefined ? null : Number(value));
    }
  }
  if (xs.size < 2) return null;

  let axis = [...xs].sort((a, b) => a - b);
  // Fill the buckets no row fell in, so lines do not bridge gaps (and counts show zero).
  if (step && (axis[axis.length - 1] - axis[0]) / step < MAX_FILLED) {
    const filled: number[] = [];
    for (let x = axis[0]; x <= axis[axis.length - 1] + 1e-6; x += step) filled.push(x);
    const seen = new Set(filled.map((x) => Math.round(x * 1000)));
    const missing = axis.filter((x) => !seen.has(Math.round(x * 1000)));
    axis = [...filled, ...missing].sort((a, b) => a - b);
  }

  const keyColumn = (key: string) => {
    // Integer columns are counts and sums: an empty bucket is a zero, not a gap.
    const name = valueIdx.length > 1 ? key.split(" · ").pop() : undefined;
    const col = name ? cols.find((c) => c.name === name) : cols[valueIdx[0]];
    return col?.type ?? "float";
  };
  let entries = [...byKey.entries()].map(([key, points]) => {
    const fill = step && keyColumn(key) === "integer" ? 0 : null;
    const values = axis.map((x) => (points.has(x) ? points.get(x)! : fill));
    const total = values.reduce<number>((s, v) => s + Math.abs(v ?? 0), 0);
    return { key, values, total };
  });
  const dropped = Math.max(0, entries.length - maxSeries);
  if (dropped) entries = [...entries].sort((a, b) => b.total - a.total).slice(0, maxSeries);
  entries.sort((a, b) => a.key.localeCompare(b.key));
  return {
    data: [axis, ...entries.map((e) => e.values)],
    series: entries.map((e) => ({ label: e.key, kind: step ? "line" : "points" })),
    dropped,
    bucketed: !!step,
  };
}
