// Pieces the hosts pages and the overview's host strip share: loading each host's latest
// metrics, the utilisation meter, sortable headers, range-keeping links and the "run the
// agent" empty state.
import type { ComponentChildren } from "preact";
import { ApiError, oql, records } from "../../lib/api";
import { HOST_METRICS, LAST_SEEN_QUERY, formatPct, latestPerHost, latestRowsQuery, latestWindows, meterTone, presentMetrics, type HostLatest, type HostMetric } from "../../lib/hosts";
import { location } from "../../lib/router";
import { resolveRange, type TimeRange } from "../../lib/time";
import "./hosts.css";

/** How far before a host's newest point its latest values are read (three agent
 * intervals at the slowest common setting of 1 m). */
const LOOKBACK_MS = 3 * 60_000;

/** Millisecond-precise RFC 3339: windows end one millisecond past a point. */
const isoMs = (ms: number) => new Date(ms).toISOString();

/** Whether an error is OQL saying a table or column does not exist (nothing was ever sent). */
export const isUnknownTable = (e: unknown) => e instanceof ApiError && e.code === "oql_unknown" && /no table/.test(e.message);

export interface HostsAnswer {
  /** The agent's metrics the org has. */
  metrics: HostMetric[];
  hosts: HostLatest[];
  /** No host metric was ever received (the `host` table does not exist). */
  noTable: boolean;
  truncated: boolean;
}

/** Every host that sent metrics in the range, with its latest value of each metric. */
export async function loadLatestHosts(range: TimeRange, signal: AbortSignal): Promise<HostsAnswer> {
  const { from, to } = resolveRange(range);
  let metrics: HostMetric[];
  try {
    metrics = presentMetrics(records(await oql("DESCRIBE host", { signal })));
  } catch (e) {
    if (isUnknownTable(e)) return { metrics: [], hosts: [], noTable: true, truncated: false };
    throw e;
  }
  const seenAnswer = await oql(LAST_SEEN_QUERY, { from: isoMs(from), to: isoMs(to), signal });
  const lastSeen = new Map<string, number>();
  for (const r of records(seenAnswer)) lastSeen.set(String(r.host ?? ""), Date.parse(String(r.last_seen)));
  if (metrics.length === 0 || lastSeen.size === 0) {
    return { metrics, hosts: latestPerHost([], metrics, lastSeen), noTable: false, truncated: seenAnswer.truncated };
  }
  const answers = await Promise.all(
    latestWindows(lastSeen, LOOKBACK_MS, from, to).map((w) =>
      oql(latestRowsQuery(metrics, w.hosts !== null), { from: isoMs(w.from), to: isoMs(w.to), params: w.hosts ? { hosts: w.hosts } : undefined, signal }),
    ),
  );
  const rows = answers.flatMap(records);
  return {
    metrics,
    hosts: latestPerHost(rows, metrics, lastSeen).sort((a, b) => a.host.localeCompare(b.host)),
    noTable: false,
    truncated: seenAnswer.truncated || answers.some((a) => a.truncated),
  };
}

export const METRIC_LABEL: Record<HostMetric, string> = {
  cpu_usage_pct: "CPU",
  mem_used_pct: "Memory",
  disk_used_pct: "Disk",
  load_1m: "Load 1m",
  load_5m: "Load 5m",
  load_15m: "Load 15m",
};
export { HOST_METRICS };

/** A 0–100 % utilisation bar, coloured from 75 % and 90 %, read out as "CPU 42.0%". */
export function Meter({ label, value }: { label: string; value: number | null | undefined }) {
  const v = value ?? null;
  return (
    <div class="hx-meter" role="meter" aria-label={label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={v ?? undefined} aria-valuetext={formatPct(v)}>
      <span class="hx-meter-label">{label}</span>
      <span class="hx-meter-track">
        <span class={`hx-meter-fill ${meterTone(v)}`} style={{ width: `${Math.max(0, Math.min(100, v ?? 0))}%` }} />
      </span>
      <span class="hx-meter-value">{formatPct(v)}</span>
    </div>
  );
}

/** The URL's range as query parameters, so links to other pages keep the same window. */
export function rangeParams(): Record<string, string | undefined> {
  const q = location.value.query;
  return { from: q.get("from") ?? undefined, to: q.get("to") ?? undefined };
}

/** A link target with the page's range carried along. */
export function withRange(path: string, params: Record<string, string> = {}): string {
  const q = new URLSearchParams(params);
  for (const [k, v] of Object.entries(rangeParams())) if (v) q.set(k, v);
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

export const hostHref = (host: string) => withRange(`/hosts/${encodeURIComponent(host)}`);

const mark = (active: boolean, dir: "asc" | "desc") => (
  <span aria-hidden="true" class="hx-sort-mark">
    {active ? (dir === "asc" ? "▲" : "▼") : ""}
  </span>
);

/** A column header that sorts the table by its key (kept in the URL by the caller). */
export function SortHeader({ label, active, dir, onSort, num }: { label: string; active: boolean; dir: "asc" | "desc"; onSort: () => void; num?: boolean }) {
  return (
    <th class={num ? "num" : ""} aria-sort={active ? (dir === "asc" ? "ascending" : "descending") : "none"}>
      <button type="button" class="hx-sort" onClick={onSort}>
        {/* The mark sits on the outer side so labels line up with their column's figures. */}
        {num && mark(active, dir)}
        {label}
        {!num && mark(active, dir)}
      </button>
    </th>
  );
}

/** How to get host metrics in: the agent, or any OTLP sender using the agent's names. */
export function AgentHint({ children }: { children?: ComponentChildren }) {
  const grpc = `${window.location.hostname}:4317`;
  return (
    <div class="hx-hint">
      {children}
      <p>
        Run <code>hexcovery-agent</code> on each machine. It sends CPU, memory, disk and load every 10 s over OTLP/gRPC:
      </p>
      <pre class="hx-snippet">
        {`# /etc/hexcovery-agent/agent.toml
[server]
endpoint = "http://${grpc}"
api_key_file = "/etc/hexcovery-agent/api-key"   # an API key from Settings → API keys

$ hexcovery-agent run --config /etc/hexcovery-agent/agent.toml`}
      </pre>
      <p class="muted">
        Any OTLP sender works too: gauges named <code>host.cpu_usage_pct</code>, <code>host.mem_used_pct</code>, <code>host.disk_used_pct</code>, <code>host.load_1m</code> with
        resource <code>host.name</code>.
      </p>
    </div>
  );
}
