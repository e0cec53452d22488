// Usage rows (per UTC day and signal) turned into the chart's aligned series and the
// per-signal totals, over a day range that may hold days with no usage at all.

export interface UsageRow {
  day: string;
  signal: string;
  records: number;
  bytes: number;
}

const DAY_MS = 86_400_000;

/** `YYYY-MM-DD` of an instant, in UTC (usage days are UTC days). */
export const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** The day `n` days after `day` (negative: before). */
export const shiftDay = (day: string, n: number) => utcDay(Date.parse(`${day}T00:00:00Z`) + n * DAY_MS);

/** Whether `text` is a real `YYYY-MM-DD` date. */
export const isDay = (text: string) => /^\d{4}-\d{2}-\d{2}$/.test(text) && utcDay(Date.parse(`${text}T00:00:00Z`) || NaN) === text;

/** Every day from `from` to `to`, both included (at most 400, so a typo cannot hang the page). */
export function daysBetween(from: string, to: string): string[] {
  const out: string[] = [];
  for (let d = from; d <= to && out.length < 400; d = shiftDay(d, 1)) out.push(d);
  return out;
}

/** Signals in a stable order: the usual three first, then any other by name. */
export function signalsOf(rows: UsageRow[]): string[] {
  const known = ["logs", "spans", "metrics"];
  const seen = [...new Set(rows.map((r) => r.signal))];
  return seen.sort((a, b) => {
    const ia = known.indexOf(a);
    const ib = known.indexOf(b);
    return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || a.localeCompare(b);
  });
}

/** Chart data: x = each day's start (epoch seconds), then one series per signal. */
export function usageSeries(rows: UsageRow[], from: string, to: string, metric: "records" | "bytes") {
  const days = daysBetween(from, to);
  const signals = signalsOf(rows);
  const index = new Map(days.map((d, i) => [d, i]));
  const series = signals.map(() => new Array<number | null>(days.length).fill(0));
  for (const r of rows) {
    const i = index.get(r.day);
    if (i !== undefined) series[signals.indexOf(r.signal)][i] = (series[signals.indexOf(r.signal)][i] ?? 0) + r[metric];
  }
  const x = days.map((d) => Date.parse(`${d}T00:00:00Z`) / 1000);
  return { signals, data: [x, ...series] as (number | null)[][] };
}

/** Records and bytes per signal over all rows. */
export function usageTotals(rows: UsageRow[]): { signal: string; records: number; bytes: number }[] {
  return signalsOf(rows).map((signal) =>
    rows.filter((r) => r.signal === signal).reduce((t, r) => ({ signal, records: t.records + r.records, bytes: t.bytes + r.bytes }), { signal, records: 0, bytes: 0 }),
  );
}
