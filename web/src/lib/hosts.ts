// Host metrics logic for the overview's host strip and the hosts pages: which of the agent's
// columns the `host` table has, the windows that hold each host's latest points, the latest
// value per host and column, sorting, and meter tones.

/** The agent's gauges as columns of the `host` metric table (SPEC §9), in display order. */
export const HOST_METRICS = ["cpu_usage_pct", "mem_used_pct", "disk_used_pct", "load_1m", "load_5m", "load_15m"] as const;
export type HostMetric = (typeof HOST_METRICS)[number];

/** The metric columns present, from `DESCRIBE host` rows (`column`, ...). A column that no
 * host ever sent does not exist, and naming it would fail the whole query. */
export function presentMetrics(describeRows: Record<string, unknown>[]): HostMetric[] {
  const have = new Set(describeRows.map((r) => String(r.column)));
  return HOST_METRICS.filter((m) => have.has(m));
}

/**
 * The points of the latest instant per host, one row per (host, timestamp). Several series
 * of one host share a timestamp (disk has one per mount point): `max()` folds them, so
 * "disk" is the fullest mount point, which is the one that matters.
 */
export function latestRowsQuery(metrics: HostMetric[], onlySomeHosts: boolean): string {
  const cols = metrics.map((m) => `max(${m}) AS ${m}`).join(", ");
  const where = onlySomeHosts ? " WHERE host IN ($hosts)" : "";
  return `SELECT host, timestamp, ${cols} FROM host${where} GROUP BY host, timestamp`;
}

export const LAST_SEEN_QUERY = "SELECT host, max(timestamp) AS last_seen FROM host GROUP BY host";

export interface Window {
  /** null: every host; else only these. */
  hosts: string[] | null;
  from: number;
  to: number;
}

/**
 * The time windows to read latest points from, given each host's last point (epoch ms).
 * OQL has no "last value" aggregate, and reading every point of the range to keep one per
 * host would scan hours of rows; instead read only the `lookbackMs` before the newest point.
 * Hosts that went quiet earlier than that (a machine turned off mid-range) get a second
 * window ending at their own last points, restricted to them.
 * Windows stay inside [rangeFrom, rangeTo) and end just past the last point (`to` is
 * exclusive).
 */
export function latestWindows(lastSeen: Map<string, number>, lookbackMs: number, rangeFrom: number, rangeTo: number): Window[] {
  if (lastSeen.size === 0) return [];
  const newest = Math.max(...lastSeen.values());
  const cut = newest - lookbackMs;
  const clamp = (w: Window): Window => ({ ...w, from: Math.max(rangeFrom, w.from), to: Math.min(rangeTo, w.to) });
  const windows: Window[] = [clamp({ hosts: null, from: cut, to: newest + 1 })];
  const stale = [...lastSeen.entries()].filter(([, t]) => t < cut);
  if (stale.length) {
    const first = Math.min(...stale.map(([, t]) => t));
    const last = Math.max(...stale.map(([, t]) => t));
    windows.push(clamp({ hosts: stale.map(([h]) => h).sort(), from: first - lookbackMs, to: last + 1 }));
  }
  return windows.filter((w) => w.from < w.to);
}

export interface HostLatest {
  host: string;
  /** Epoch ms of the host's newest point in the range. */
  lastSeen: number;
  /** Each metric's newest value (null when the host never sent it in the windows read). */
  values: Partial<Record<HostMetric, number | null>>;
}

const toMs = (v: unknown): number => (typeof v === "number" ? v : Date.parse(String(v)));

/**
 * The latest value of each metric per host. Per metric, not per row: a host whose newest
 * row lacks a metric (sent on its own schedule, or in a series of its own) shows that
 * metric's own newest value. Rows at the same instant for one host (series folded apart)
 * resolve to the largest value, as the query's `max()` does.
 */
export function latestPerHost(rows: Record<string, unknown>[], metrics: readonly HostMetric[], lastSeen?: Map<string, number>): HostLatest[] {
  const by = new Map<string, { lastSeen: number; values: Partial<Record<HostMetric, number | null>>; at: Partial<Record<HostMetric, number>> }>();
  for (const r of rows) {
    const host = r.host === null || r.host === undefined ? "" : String(r.host);
    const t = toMs(r.timestamp);
    if (Number.isNaN(t)) continue;
    let h = by.get(host);
    if (!h) {
      h = { lastSeen: t, values: {}, at: {} };
      by.set(host, h);
    }
    h.lastSeen = Math.max(h.lastSeen, t);
    for (const m of metrics) {
      const v = r[m];
      if (typeof v !== "number" || !Number.isFinite(v)) continue;
      const at = h.at[m];
      if (at === undefined || t > at || (t === at && v > (h.values[m] ?? -Infinity))) {
        h.at[m] = t;
        h.values[m] = v;
      }
    }
  }
  // Hosts with a last-seen time but no rows read (should not happen, but a truncated
  // answer could drop them) still appear, without values.
  for (const [host, t] of lastSeen ?? []) if (!by.has(host)) by.set(host, { lastSeen: t, values: {}, at: {} });
  return [...by.entries()].map(([host, h]) => ({
    host,
    lastSeen: lastSeen?.get(host) ?? h.lastSeen,
    values: Object.fromEntries(metrics.map((m) => [m, h.values[m] ?? null])) as HostLatest["values"],
  }));
}

export type HostSortKey = "host" | "last_seen" | HostMetric;

/** Hosts sorted by a column; missing values sort last whichever the direction. */
export function sortHosts(hosts: HostLatest[], key: HostSortKey, dir: "asc" | "desc"): HostLatest[] {
  const sign = dir === "asc" ? 1 : -1;
  const value = (h: HostLatest): number | string | null => (key === "host" ? h.host : key === "last_seen" ? h.lastSeen : (h.values[key] ?? null));
  return [...hosts].sort((a, b) => {
    const va = value(a);
    const vb = value(b);
    if (va === null && vb === null) return a.host.localeCompare(b.host);
    if (va === null) return 1;
    if (vb === null) return -1;
    const c = typeof va === "string" ? va.localeCompare(vb as string) : (va as number) - (vb as number);
    return c * sign || a.host.localeCompare(b.host);
  });
}

/** A utilisation meter's tone: warn from 75 %, bad from 90 %. */
export function meterTone(percent: number | null | undefined): "ok" | "warn" | "bad" | "muted" {
  if (percent === null || percent === undefined || Number.isNaN(percent)) return "muted";
  if (percent >= 90) return "bad";
  if (percent >= 75) return "warn";
  return "ok";
}

/** A percent for a meter or table cell: one decimal, `–` when absent. */
export function formatPct(percent: number | null | undefined): string {
  if (percent === null || percent === undefined || Number.isNaN(percent)) return "–";
  return `${percent.toFixed(1)}%`;
}

/** A load average: two decimals, `–` when absent. */
export function formatLoad(load: number | null | undefined): string {
  if (load === null || load === undefined || Number.isNaN(load)) return "–";
  return load.toFixed(2);
}

/** A string for OQL single quotes (`''` escapes a quote), as links to other pages build
 * their queries: `host = 'web-1'`. */
export { quoteString as oqlString } from "./oqlLanguage";

/** One host's metrics over time. Disk is the fullest mount point in each bucket (max), the
 * others are averages over the bucket. */
export function hostSeriesQuery(metrics: HostMetric[], step: string): string {
  const cols = metrics.map((m) => `${m === "disk_used_pct" ? "max" : "avg"}(${m}) AS ${m}`).join(", ");
  return `SELECT bucket(${step}) AS t, ${cols} FROM host WHERE host = $host GROUP BY t ORDER BY t`;
}

export interface MetricSeries {
  /** Epoch seconds. */
  x: number[];
  series: Partial<Record<HostMetric, (number | null)[]>>;
}

/**
 * Chart data from bucketed rows (`t` plus metric columns). Only buckets with data become
 * points, so an agent reporting less often than the bucket step draws a line rather than
 * a comb of dots; a gap longer than three times the usual spacing (the agent was down)
 * gets a null point, which breaks the line there.
 */
export function metricSeries(rows: Record<string, unknown>[], metrics: readonly HostMetric[], stepSecs: number): MetricSeries {
  const points = rows
    .map((r) => ({ t: toMs(r.t) / 1000, r }))
    .filter((p) => !Number.isNaN(p.t))
    .sort((a, b) => a.t - b.t);
  const gaps = points.slice(1).map((p, i) => p.t - points[i].t);
  const sorted = [...gaps].sort((a, b) => a - b);
  const usual = sorted.length ? sorted[Math.floor(sorted.length / 2)] : stepSecs;
  const breakAfter = 3 * Math.max(usual, stepSecs);
  const x: number[] = [];
  const series: Partial<Record<HostMetric, (number | null)[]>> = Object.fromEntries(metrics.map((m) => [m, []]));
  points.forEach((p, i) => {
    if (i > 0 && p.t - points[i - 1].t > breakAfter) {
      x.push(points[i - 1].t + stepSecs);
      for (const m of metrics) series[m]!.push(null);
    }
    x.push(p.t);
    for (const m of metrics) {
      const v = p.r[m];
      series[m]!.push(typeof v === "number" && Number.isFinite(v) ? v : null);
    }
  });
  return { x, series };
}

/** The last non-null value of a series (the chart's "now" figure). */
export function lastValue(values: (number | null)[] | undefined): number | null {
  if (!values) return null;
  for (let i = values.length - 1; i >= 0; i--) if (values[i] !== null) return values[i];
  return null;
}

/** The highest of a host's CPU, memory and disk use (how close it is to trouble). */
export const peakUse = (h: HostLatest): number => Math.max(h.values.cpu_usage_pct ?? -1, h.values.mem_used_pct ?? -1, h.values.disk_used_pct ?? -1);

/** The hosts a strip of at most `max` shows: all of them by name when they fit, else the
 * `max` closest to trouble (highest peak use) first, so a full strip still shows problems. */
export function stripHosts(hosts: HostLatest[], max: number): { shown: HostLatest[]; hidden: number } {
  if (hosts.length <= max) return { shown: [...hosts].sort((a, b) => a.host.localeCompare(b.host)), hidden: 0 };
  const shown = [...hosts].sort((a, b) => peakUse(b) - peakUse(a) || a.host.localeCompare(b.host)).slice(0, max);
  return { shown, hidden: hosts.length - max };
}
