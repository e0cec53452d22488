// The overview's arithmetic: which spans count as requests, per-service request and error
// figures from OQL rows, error-rate colouring against the org's thresholds, rates over the
// range, and the request/error series of the overview chart.
import { formatNumber } from "./format";

/**
 * What counts as a request. A service's requests are the spans where work *enters* it:
 * spans of kind `server` or `consumer` (a call or a message from elsewhere), and root spans
 * (work that starts a trace, e.g. a cron job whose spans are all `internal`). Client and
 * internal child spans are parts of a request, not requests, so counting every span would
 * inflate the rate by the fan-out and mix latencies of sub-steps into the percentiles.
 * The e2e test (e2e/overview.spec.ts) checks the page against OQL with this same filter.
 */
export const REQUEST_FILTER = "(kind IN ('server', 'consumer') OR parent_span_id IS NULL)";

/** Requests per service and status: one row per (service, status). */
export const SERVICE_STATUS_QUERY = `SELECT service, status, count(*) AS n FROM spans WHERE ${REQUEST_FILTER} GROUP BY service, status`;
/** Latency percentiles of requests per service. */
export const SERVICE_LATENCY_QUERY = `SELECT service, p50(duration_ms) AS p50, p95(duration_ms) AS p95, p99(duration_ms) AS p99 FROM spans WHERE ${REQUEST_FILTER} GROUP BY service`;
/** Every service that sent spans, so one with no requests still shows up. */
export const SERVICE_SPANS_QUERY = "SELECT service, count(*) AS spans FROM spans GROUP BY service";
/** Requests over time split by failed or not, at a step the page picks. */
export const requestSeriesQuery = (step: string) =>
  `SELECT bucket(${step}) AS t, status = 'error' AS failed, count(*) AS n FROM spans WHERE ${REQUEST_FILTER} GROUP BY t, failed ORDER BY t`;

export interface Thresholds {
  /** Percent (0–100), as the org stores them. */
  warning: number;
  critical: number;
}

export type Tone = "ok" | "warn" | "bad" | "muted";

/** The tone of an error rate given in percent: critical at or above `critical`, warning at
 * or above `warning`, else ok; no requests at all is muted (there is no rate). */
export function errorTone(percent: number | null, t: Thresholds): Tone {
  if (percent === null || Number.isNaN(percent)) return "muted";
  if (percent >= t.critical) return "bad";
  if (percent >= t.warning) return "warn";
  return "ok";
}

/** Errors as a percent of requests; null when there were none. */
export function errorPercent(errors: number, requests: number): number | null {
  return requests > 0 ? (errors / requests) * 100 : null;
}

/** Per second over the whole range (not over the part that has data): a service that
 * answered 60 requests in the first minute of an hour ran at 1/min over that hour. */
export function ratePerSecond(count: number, rangeMs: number): number {
  return rangeMs > 0 ? count / (rangeMs / 1000) : 0;
}

/** A rate in the unit that keeps it readable: `12.5/s`, `3/min` below one a second,
 * `4/h` below one a minute, `0/s` for none. */
export function formatRate(perSecond: number): string {
  if (!perSecond) return "0/s";
  if (perSecond >= 1) return `${formatNumber(perSecond)}/s`;
  if (perSecond * 60 >= 1) return `${formatNumber(perSecond * 60)}/min`;
  return `${formatNumber(perSecond * 3600)}/h`;
}

/** A formatter for a rate axis whose largest value is `maxPerSecond`: every tick in the one
 * unit that suits the largest (`0/min`, `1.5/min`, `3/min`), not a mix of units. */
export function rateAxis(maxPerSecond: number): (perSecond: number) => string {
  const [unit, factor] = maxPerSecond >= 1 || !maxPerSecond ? ["/s", 1] : maxPerSecond * 60 >= 1 ? ["/min", 60] : ["/h", 3600];
  return (v) => `${formatNumber(v * factor)}${unit}`;
}

/** An error percent for display: one decimal below 10, none above; `–` without requests. */
export function formatErrorPercent(percent: number | null): string {
  if (percent === null || Number.isNaN(percent)) return "–";
  if (percent === 0) return "0%";
  if (percent < 0.1) return "<0.1%";
  return `${percent >= 10 ? Math.round(percent) : Number(percent.toFixed(1))}%`;
}

export interface ServiceStat {
  service: string;
  requests: number;
  errors: number;
  /** Percent of requests that failed; null without requests. */
  errorPct: number | null;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  /** Every span of the service, requests or not. */
  spans: number;
}

type Row = Record<string, unknown>;
const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);
const str = (v: unknown): string => (v === null || v === undefined ? "" : String(v));

/** Joins the three per-service answers into one row per service, busiest first (then by
 * name so the order is stable). */
export function serviceStats(statusRows: Row[], latencyRows: Row[], spanRows: Row[]): ServiceStat[] {
  const by = new Map<string, ServiceStat>();
  const get = (service: string) => {
    let s = by.get(service);
    if (!s) {
      s = { service, requests: 0, errors: 0, errorPct: null, p50: null, p95: null, p99: null, spans: 0 };
      by.set(service, s);
    }
    return s;
  };
  for (const r of spanRows) get(str(r.service)).spans += num(r.spans) ?? 0;
  for (const r of statusRows) {
    const s = get(str(r.service));
    const n = num(r.n) ?? 0;
    s.requests += n;
    if (r.status === "error") s.errors += n;
  }
  for (const r of latencyRows) {
    const s = get(str(r.service));
    s.p50 = num(r.p50);
    s.p95 = num(r.p95);
    s.p99 = num(r.p99);
  }
  for (const s of by.values()) s.errorPct = errorPercent(s.errors, s.requests);
  return [...by.values()].sort((a, b) => b.requests - a.requests || b.spans - a.spans || a.service.localeCompare(b.service));
}

export interface Totals {
  requests: number;
  errors: number;
  errorPct: number | null;
}

export function totals(stats: ServiceStat[]): Totals {
  const requests = stats.reduce((n, s) => n + s.requests, 0);
  const errors = stats.reduce((n, s) => n + s.errors, 0);
  return { requests, errors, errorPct: errorPercent(errors, requests) };
}

/** Bucket steps OQL accepts, in seconds, smallest first (SPEC §5 `bucket()`). */
const STEPS: [string, number][] = [
  ["1s", 1],
  ["5s", 5],
  ["10s", 10],
  ["15s", 15],
  ["30s", 30],
  ["1m", 60],
  ["5m", 300],
  ["10m", 600],
  ["15m", 900],
  ["30m", 1800],
  ["1h", 3600],
  ["3h", 10800],
  ["6h", 21600],
  ["12h", 43200],
  ["1d", 86400],
];

/** The smallest step giving at most `maxBuckets` buckets over the range. The overview asks
 * for fewer buckets than `bucket()`'s default 300: a rate chart of sparse traffic in 15 s
 * buckets is a comb of single requests, in 1 m buckets it shows the trend. */
export function pickStep(rangeMs: number, maxBuckets: number): { step: string; seconds: number } {
  const secs = rangeMs / 1000;
  for (const [step, seconds] of STEPS) if (secs / seconds <= maxBuckets) return { step, seconds };
  const [step, seconds] = STEPS[STEPS.length - 1];
  return { step, seconds };
}

export interface RequestSeries {
  /** Bucket starts, epoch seconds. */
  x: number[];
  /** Requests per second in each bucket. */
  rate: number[];
  /** Failed percent of each bucket's requests; null where there were none. */
  errorPct: (number | null)[];
}

/** The chart series from the bucketed answer (`t`, `failed`, `n`), with every bucket of
 * the range present: empty buckets are zero requests, not gaps. */
export function requestSeries(rows: Row[], fromMs: number, toMs: number, stepSecs: number): RequestSeries {
  const step = stepSecs * 1000;
  const start = Math.floor(fromMs / step) * step;
  const slots = Math.max(1, Math.ceil((toMs - start) / step));
  const all = new Array<number>(slots).fill(0);
  const failed = new Array<number>(slots).fill(0);
  for (const r of rows) {
    const t = typeof r.t === "number" ? r.t : Date.parse(str(r.t));
    if (Number.isNaN(t)) continue;
    const i = Math.floor((t - start) / step);
    if (i < 0 || i >= slots) continue;
    const n = num(r.n) ?? 0;
    all[i] += n;
    if (r.failed === true) failed[i] += n;
  }
  return {
    x: all.map((_, i) => (start + i * step) / 1000),
    rate: all.map((n) => n / stepSecs),
    errorPct: all.map((n, i) => errorPercent(failed[i], n)),
  };
}
