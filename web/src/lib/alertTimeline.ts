// The backtest preview of an alert rule (`POST /api/v1/alerts/preview`) turned into what the
// editor draws: per instance its value at every tick and runs of the same state (segments),
// the rule's worst state per tick, chart series, and a summary of what would have fired.
import { labelText } from "./alertRule";

export interface PreviewInstance {
  fingerprint: string;
  labels: Record<string, string>;
  value: number | null;
  state: string;
}
export interface PreviewTick {
  at: string;
  instances: PreviewInstance[];
}
export interface PreviewAlert {
  status: string;
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  values?: Record<string, number>;
  fingerprint?: string;
}
export interface PreviewNotification {
  at: string;
  type: string;
  status: string;
  alerts: PreviewAlert[];
}
export interface Preview {
  method?: string;
  ticks: PreviewTick[];
  notifications: PreviewNotification[];
}

/** A tick's state for one instance; `none` when the instance is not in that tick's answer. */
export type TickState = "none" | "normal" | "no_data" | "error" | "pending" | "firing";

/** Worse states rank higher: the rule's state at a tick is its worst instance's. */
export const STATE_RANK: Record<TickState, number> = { none: 0, normal: 1, no_data: 2, error: 3, pending: 4, firing: 5 };

export function asTickState(state: string): TickState {
  return state in STATE_RANK ? (state as TickState) : "normal";
}

export function worst(states: TickState[]): TickState {
  let out: TickState = "none";
  for (const s of states) if (STATE_RANK[s] > STATE_RANK[out]) out = s;
  return out;
}

/** A run of ticks in one state: from its first tick to the next run's first tick (or `end`). */
export interface Segment {
  state: TickState;
  /** Epoch ms. */
  from: number;
  to: number;
  ticks: number;
}

/** Consecutive ticks of the same state merged. `times` are the ticks (epoch ms, ascending),
 * `states[i]` the state at `times[i]`; a state holds until the next tick, the last until `end`. */
export function segments(times: number[], states: TickState[], end: number): Segment[] {
  const out: Segment[] = [];
  for (let i = 0; i < times.length; i++) {
    const to = i + 1 < times.length ? times[i + 1] : Math.max(end, times[i]);
    const last = out[out.length - 1];
    if (last && last.state === states[i]) {
      last.to = to;
      last.ticks += 1;
    } else {
      out.push({ state: states[i], from: times[i], to, ticks: 1 });
    }
  }
  return out;
}

export interface InstanceTimeline {
  fingerprint: string;
  /** Labels without the rule's own, e.g. "service=checkout". */
  name: string;
  labels: Record<string, string>;
  values: (number | null)[];
  states: TickState[];
  segments: Segment[];
  /** Largest value seen (null when it never had one). */
  peak: number | null;
  worst: TickState;
  /** Times it went into firing. */
  firings: number;
}

export interface Timeline {
  /** Tick instants, epoch ms. */
  times: number[];
  /** Where the last tick's state ends (its tick plus the interval). */
  end: number;
  /** The rule's state per tick: its worst instance's. */
  rule: { states: TickState[]; segments: Segment[] };
  /** Worst first, then by peak value. */
  instances: InstanceTimeline[];
  /** Episodes of firing over every instance. */
  firings: number;
  notifications: PreviewNotification[];
}

/** Builds the timeline of a preview answer. `ruleLabels` are left out of instance names. */
export function timeline(preview: Preview, opts: { intervalMs: number; ruleLabels?: Record<string, string>; ruleName?: string }): Timeline {
  const times = preview.ticks.map((t) => Date.parse(t.at));
  const n = times.length;
  const byFp = new Map<string, InstanceTimeline>();
  preview.ticks.forEach((tick, i) => {
    for (const inst of tick.instances) {
      let tl = byFp.get(inst.fingerprint);
      if (!tl) {
        tl = {
          fingerprint: inst.fingerprint,
          name: labelText(inst.labels, opts.ruleLabels, opts.ruleName ?? "value"),
          labels: inst.labels,
          values: new Array(n).fill(null),
          states: new Array(n).fill("none"),
          segments: [],
          peak: null,
          worst: "none",
          firings: 0,
        };
        byFp.set(inst.fingerprint, tl);
      }
      tl.values[i] = typeof inst.value === "number" && Number.isFinite(inst.value) ? inst.value : null;
      tl.states[i] = asTickState(inst.state);
    }
  });
  const end = n ? times[n - 1] + opts.intervalMs : 0;
  const instances = [...byFp.values()];
  for (const tl of instances) {
    tl.segments = segments(times, tl.states, end);
    tl.worst = worst(tl.states);
    tl.firings = tl.segments.filter((s) => s.state === "firing").length;
    for (const v of tl.values) if (v !== null && (tl.peak === null || v > tl.peak)) tl.peak = v;
  }
  instances.sort((a, b) => STATE_RANK[b.worst] - STATE_RANK[a.worst] || (b.peak ?? -Infinity) - (a.peak ?? -Infinity) || a.name.localeCompare(b.name));
  const ruleStates = times.map((_, i) => worst(instances.map((tl) => tl.states[i])));
  return {
    times,
    end,
    rule: { states: ruleStates, segments: segments(times, ruleStates, end) },
    instances,
    firings: instances.reduce((sum, tl) => sum + tl.firings, 0),
    notifications: preview.notifications ?? [],
  };
}

/** Chart data: `[x seconds, ...the first maxSeries instances' values, threshold]`. */
export function chartData(tl: Timeline, threshold: number | null, maxSeries = 8): { data: (number | null)[][]; names: string[] } {
  const shown = tl.instances.slice(0, maxSeries);
  const data: (number | null)[][] = [tl.times.map((t) => t / 1000), ...shown.map((s) => s.values)];
  const names = shown.map((s) => s.name);
  if (threshold !== null && tl.times.length) {
    data.push(tl.times.map(() => threshold));
    names.push("threshold");
  }
  return { data, names };
}

/** Segments as fractions of `[from, to]` for drawing a strip: left and width in 0..1,
 * clipped to the range; `none` runs are left out (nothing to draw). */
export function stripLayout(segs: Segment[], from: number, to: number): { state: TickState; left: number; width: number; seg: Segment }[] {
  const span = to - from;
  if (span <= 0) return [];
  const out: { state: TickState; left: number; width: number; seg: Segment }[] = [];
  for (const seg of segs) {
    if (seg.state === "none") continue;
    const a = Math.max(from, seg.from);
    const b = Math.min(to, seg.to);
    if (b <= a) continue;
    out.push({ state: seg.state, left: (a - from) / span, width: (b - a) / span, seg });
  }
  return out;
}

/** "fired 2 times (checkout, payments); 3 notifications" — what the preview says in words. */
export function summary(tl: Timeline): string {
  if (!tl.times.length) return "The range holds no tick.";
  const fired = tl.instances.filter((i) => i.firings > 0);
  const pending = tl.instances.filter((i) => i.firings === 0 && i.worst === "pending");
  const parts: string[] = [];
  if (fired.length) {
    const names = fired.slice(0, 3).map((i) => i.name).join(", ") + (fired.length > 3 ? `, +${fired.length - 3} more` : "");
    parts.push(`Would have fired ${tl.firings} ${tl.firings === 1 ? "time" : "times"} (${names})`);
  } else {
    parts.push("Would not have fired");
  }
  if (pending.length) parts.push(`${pending.length} ${pending.length === 1 ? "series was" : "series were"} pending without firing`);
  const n = tl.notifications.length;
  parts.push(`${n} ${n === 1 ? "notification" : "notifications"}`);
  return `${parts.join("; ")} over ${tl.times.length} ticks.`;
}

/** Ticks of `intervalMs` in a range of `rangeMs` (both ends), as the server counts them. */
export const tickCount = (rangeMs: number, intervalMs: number) => (intervalMs > 0 ? Math.floor(rangeMs / intervalMs) + 1 : 0);

/** The server's cap on ticks per preview. */
export const MAX_PREVIEW_TICKS = 1440;
