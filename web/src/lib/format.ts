// Number, byte, duration and time formatting for tables, tooltips and chart axes.

/** 1234 → "1.23k", 0.5 → "0.5"; integers below 10 000 as they are. */
export function formatNumber(n: number | null | undefined): string {
  if (n === null || n === undefined || Number.isNaN(n)) return "–";
  const a = Math.abs(n);
  if (a >= 1e9) return `${trim(n / 1e9)}G`;
  if (a >= 1e6) return `${trim(n / 1e6)}M`;
  if (a >= 1e4) return `${trim(n / 1e3)}k`;
  if (Number.isInteger(n)) return String(n);
  return trim(n);
}
function trim(n: number): string {
  const a = Math.abs(n);
  const digits = a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : 3;
  return String(Number(n.toFixed(digits)));
}

export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : trim(v)} ${units[i]}`;
}

/** A span or request duration given in milliseconds: "850µs", "12.3ms", "1.5s", "2m 5s". */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return "–";
  if (ms < 1) return `${Math.round(ms * 1000)}µs`;
  if (ms < 1000) return `${trim(ms)}ms`;
  if (ms < 60_000) return `${trim(ms / 1000)}s`;
  const m = Math.floor(ms / 60_000);
  const s = Math.round((ms % 60_000) / 1000);
  if (m < 60) return s ? `${m}m ${s}s` : `${m}m`;
  const h = Math.floor(m / 60);
  return m % 60 ? `${h}h ${m % 60}m` : `${h}h`;
}

export const formatPercent = (fraction: number | null | undefined) =>
  fraction === null || fraction === undefined || Number.isNaN(fraction) ? "–" : `${trim(fraction * 100)}%`;

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

/** A timestamp as local `YYYY-MM-DD HH:MM:SS.mmm`, as log views show them. */
export function formatTimestamp(value: string | number | Date): string {
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** "5 minutes ago", "in 2 hours". */
export function formatRelative(value: string | number | Date, now: number = Date.now()): string {
  const ms = new Date(value).getTime() - now;
  const a = Math.abs(ms);
  const [n, unit] =
    a < 60e3 ? [Math.round(a / 1e3), "second"] : a < 3600e3 ? [Math.round(a / 60e3), "minute"] : a < 86400e3 ? [Math.round(a / 3600e3), "hour"] : [Math.round(a / 86400e3), "day"];
  const label = `${n} ${unit}${n === 1 ? "" : "s"}`;
  return ms < 0 ? `${label} ago` : `in ${label}`;
}

/** Seconds of an OQL bucket step such as "5m" (the answer's `stats.bucket`). */
export function stepSeconds(step: string): number | null {
  const m = /^(\d+)(s|m|h|d)$/.exec(step);
  if (!m) return null;
  return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[m[2] as "s" | "m" | "h" | "d"];
}

/** The label format of a time axis tick, chosen by the distance between ticks (seconds). */
export function axisTimeFormat(tickSpacingSecs: number, spanSecs: number): (d: Date) => string {
  if (tickSpacingSecs < 60) return (d) => `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  if (spanSecs <= 86400 || tickSpacingSecs < 3600 * 6) {
    return spanSecs > 86400
      ? (d) => `${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`
      : (d) => `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  }
  return (d) => `${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}
