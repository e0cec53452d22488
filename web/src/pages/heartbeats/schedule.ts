// Heartbeat monitors: the API's monitor and ping records, the "Edit schedule" form (every
// <duration>, or cron with a time zone; grace; maximum runtime) and the PATCH body it sends.

export interface Monitor {
  id: string;
  name: string;
  /** `every 1h` or a 5-field cron expression. */
  schedule: string;
  timezone: string;
  grace_secs: number;
  max_runtime_secs: number | null;
  paused: boolean;
  /** new, up, late, down, failed, paused. */
  state: string;
  state_since: string;
  next_due: string | null;
  last_ping_at: string | null;
  last_success_at: string | null;
  last_fail_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface Ping {
  id: string;
  kind: "success" | "start" | "fail";
  at: string;
  run_id: string | null;
  duration_ms: number | null;
  body: string | null;
}

export interface MonitorEvent {
  id: string;
  monitor: string;
  at: string;
  from: string;
  to: string;
}

export interface MonitorDetail extends Monitor {
  pings: Ping[];
  events: MonitorEvent[];
}

export interface ScheduleForm {
  kind: "every" | "cron";
  /** The period of `every`, e.g. `5m`. */
  every: string;
  cron: string;
  timezone: string;
  grace: string;
  /** Empty: no limit. */
  maxRuntime: string;
}

/** Seconds as the API writes durations: the largest unit that divides them (300 → `5m`). */
export function formatSecs(secs: number): string {
  for (const [unit, size] of [
    ["w", 604_800],
    ["d", 86_400],
    ["h", 3_600],
    ["m", 60],
  ] as const) {
    if (secs > 0 && secs % size === 0) return `${secs / size}${unit}`;
  }
  return `${secs}s`;
}

export function formOf(m: Monitor): ScheduleForm {
  const every = /^every\s+(.+)$/.exec(m.schedule.trim());
  return {
    kind: every ? "every" : "cron",
    every: every ? every[1] : "1h",
    cron: every ? "" : m.schedule,
    timezone: m.timezone || "UTC",
    grace: formatSecs(m.grace_secs),
    maxRuntime: m.max_runtime_secs ? formatSecs(m.max_runtime_secs) : "",
  };
}

export function scheduleText(f: ScheduleForm): string {
  return f.kind === "every" ? `every ${f.every.trim()}` : f.cron.trim().replace(/\s+/g, " ");
}

/** The PATCH body: only what the form changed (an unchanged monitor answers `{}`). */
export function patchOf(f: ScheduleForm, m: Monitor): Record<string, string | null> {
  const before = formOf(m);
  const out: Record<string, string | null> = {};
  const schedule = scheduleText(f);
  if (schedule !== scheduleText(before) || f.kind !== before.kind) out.schedule = schedule;
  if (f.kind === "cron" && f.timezone.trim() !== before.timezone) out.timezone = f.timezone.trim();
  if (f.grace.trim() !== before.grace) out.grace = f.grace.trim();
  if (f.maxRuntime.trim() !== before.maxRuntime) out.max_runtime = f.maxRuntime.trim() || null;
  return out;
}

/** "every 1h" or "cron 30 2 * * * (Europe/Berlin)". */
export function describeSchedule(m: Pick<Monitor, "schedule" | "timezone">): string {
  return m.schedule.startsWith("every ") ? m.schedule : `cron ${m.schedule} (${m.timezone})`;
}

/** The ping command a job runs, for the empty state and the monitor's panel. */
export function pingCommand(origin: string, name: string, suffix: "" | "/start" | "/fail" = ""): string {
  return `curl -X POST -H 'x-api-key: <your API key>' ${origin}/api/v1/heartbeat/${name}${suffix}`;
}
