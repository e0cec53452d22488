// Time ranges as the URL holds them (`from=now-1h&to=now`, or absolute RFC 3339 / epoch ms),
// their resolution to instants, the presets of the time picker, and the auto-refresh tick.
import { computed, signal } from "@preact/signals";
import { location, setParams } from "./router";

const UNIT_MS: Record<string, number> = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 7 * 86400e3 };

/** Milliseconds of a duration like `15m`, `2h`, `7d`; null when it is not one. */
export function durationMs(text: string): number | null {
  const m = /^(\d+)(s|m|h|d|w)$/.exec(text.trim());
  return m ? Number(m[1]) * UNIT_MS[m[2]] : null;
}

/** The instant a time-picker value stands for: `now`, `now-15m`, RFC 3339, or epoch ms.
 * Throws an Error saying what is allowed when the text is none of them. */
export function parseTime(text: string, now: number = Date.now()): number {
  const t = text.trim();
  if (t === "now") return now;
  const rel = /^now\s*-\s*(\d+)\s*(s|m|h|d|w)$/.exec(t);
  if (rel) return now - Number(rel[1]) * UNIT_MS[rel[2]];
  if (/^\d{10,}$/.test(t)) return Number(t);
  if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/.test(t)) {
    const iso = t.includes("T") || t.includes(" ") ? t.replace(" ", "T") : `${t}T00:00:00`;
    const withZone = /(Z|[+-]\d{2}:?\d{2})$/.test(iso) ? iso : `${iso}Z`;
    const ms = Date.parse(withZone);
    if (!Number.isNaN(ms)) return ms;
  }
  throw new Error(`"${text}" is not a time: use now, now-15m (s, m, h, d, w), an RFC 3339 time like 2026-11-22T10:00:00Z, or epoch milliseconds`);
}

export interface TimeRange {
  from: string;
  to: string;
}
export interface ResolvedRange {
  from: number;
  to: number;
}

/** Resolves a range; throws when either end is malformed or `from` is not before `to`. */
export function resolveRange(range: TimeRange, now: number = Date.now()): ResolvedRange {
  const from = parseTime(range.from, now);
  const to = parseTime(range.to, now);
  if (from >= to) throw new Error(`the range must start before it ends (from ${range.from}, to ${range.to})`);
  return { from, to };
}

/** Whether the range moves with the clock (its end is `now`-relative). */
export const isRelative = (range: TimeRange) => range.to.trim().startsWith("now");

export const PRESETS: { label: string; from: string }[] = [
  { label: "Last 5 minutes", from: "now-5m" },
  { label: "Last 15 minutes", from: "now-15m" },
  { label: "Last 1 hour", from: "now-1h" },
  { label: "Last 6 hours", from: "now-6h" },
  { label: "Last 24 hours", from: "now-24h" },
  { label: "Last 7 days", from: "now-7d" },
  { label: "Last 30 days", from: "now-30d" },
];

/** A short label for a range: the preset's name, or the two ends. */
export function rangeLabel(range: TimeRange): string {
  if (range.to === "now") {
    const preset = PRESETS.find((p) => p.from === range.from);
    if (preset) return preset.label;
    const m = /^now-(\d+)(s|m|h|d|w)$/.exec(range.from);
    if (m) return `Last ${m[1]}${m[2]}`;
  }
  return `${range.from} → ${range.to}`;
}

/** RFC 3339 in UTC, to the second, as the API and the URL carry absolute times. */
export const iso = (ms: number) => new Date(Math.round(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");

export const DEFAULT_RANGE: TimeRange = { from: "now-1h", to: "now" };

/** The page's time range, from the URL (`from`, `to`), defaulting to the last hour. */
export const urlRange = computed<TimeRange>(() => ({
  from: location.value.query.get("from") ?? DEFAULT_RANGE.from,
  to: location.value.query.get("to") ?? DEFAULT_RANGE.to,
}));

/** Sets the URL's range; zooming on a chart passes absolute instants. */
export function setRange(range: TimeRange | ResolvedRange) {
  const r = typeof range.from === "number" ? { from: iso(range.from as number), to: iso(range.to as number) } : (range as TimeRange);
  setParams({ from: r.from === DEFAULT_RANGE.from ? null : r.from, to: r.to === DEFAULT_RANGE.to ? null : r.to });
}

export const REFRESH_CHOICES = ["off", "5s", "10s", "30s", "1m", "5m"];

/** Increments on every auto-refresh (the URL's `refresh=30s`); pages that depend on it
 * fetch again. */
export const tick = signal(0);
let timer: ReturnType<typeof setInterval> | undefined;
let timerEvery = "";
export function syncAutoRefresh(every: string | null) {
  const e = every ?? "off";
  if (e === timerEvery) return;
  timerEvery = e;
  clearInterval(timer);
  const ms = e === "off" ? null : durationMs(e);
  if (ms) timer = setInterval(() => (tick.value += 1), ms);
}
