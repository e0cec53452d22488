// A host's page (`/hosts/<host>`): CPU, memory, disk and load over the range on charts that
// share one cursor (brush to zoom), and the host's newest logs with a link to all of them.
import { useMemo } from "preact/hooks";
import { Chart } from "../../components/Chart";
import { Card, Empty, ErrorNote, Loading } from "../../components/ui";
import { oql, records } from "../../lib/api";
import { LEVEL_COLORS } from "../../lib/colors";
import { formatRelative, formatTimestamp } from "../../lib/format";
import { formatLoad, formatPct, hostSeriesQuery, lastValue, metricSeries, oqlString, presentMetrics, type HostMetric } from "../../lib/hosts";
import { useLoad, useTitle } from "../../lib/hooks";
import { pickStep } from "../../lib/overview";
import { Link } from "../../lib/router";
import { resolveRange, setRange, tick, urlRange } from "../../lib/time";
import type { PageProps } from "../../routes";
import { AgentHint, isUnknownTable, withRange } from "./common";

const LOG_LIMIT = 25;
const LOAD_METRICS: HostMetric[] = ["load_1m", "load_5m", "load_15m"];
const LOAD_COLORS: Record<string, string> = { load_1m: "#3b6fd8", load_5m: "#9333ea", load_15m: "#0891b2" };

interface Panel {
  title: string;
  metrics: HostMetric[];
  color: string;
  percent: boolean;
}
const PANELS: Panel[] = [
  { title: "CPU", metrics: ["cpu_usage_pct"], color: "#3b6fd8", percent: true },
  { title: "Memory", metrics: ["mem_used_pct"], color: "#9333ea", percent: true },
  { title: "Disk", metrics: ["disk_used_pct"], color: "#d97706", percent: true },
  { title: "Load", metrics: LOAD_METRICS, color: "#0891b2", percent: false },
];

async function loadSeries(host: string, range: { from: string; to: string }, signal: AbortSignal) {
  const { from, to } = resolveRange(range);
  let metrics: HostMetric[];
  try {
    metrics = presentMetrics(records(await oql("DESCRIBE host", { signal })));
  } catch (e) {
    if (isUnknownTable(e)) return null;
    throw e;
  }
  if (metrics.length === 0) return null;
  // Up to 150 points across the chart: 30 s buckets over an hour.
  const { step, seconds } = pickStep(to - from, 150);
  const answer = await oql(hostSeriesQuery(metrics, step), { from: range.from, to: range.to, params: { host }, signal });
  return { metrics, from, to, seconds, ...metricSeries(records(answer), metrics, seconds) };
}

async function loadLogs(host: string, range: { from: string; to: string }, signal: AbortSignal) {
  try {
    const answer = await oql(`SELECT timestamp, level, service, body FROM logs WHERE host = $host ORDER BY timestamp DESC LIMIT ${LOG_LIMIT}`, {
      from: range.from,
      to: range.to,
      params: { host },
      signal,
    });
    return records(answer);
  } catch (e) {
    if (isUnknownTable(e)) return [];
    throw e;
  }
}

export default function HostDetail({ params }: PageProps) {
  const host = params.host;
  useTitle(host);
  const range = urlRange.value;
  const series = useLoad((signal) => loadSeries(host, range, signal), [host, range.from, range.to, tick.value]);
  const logs = useLoad((signal) => loadLogs(host, range, signal), [host, range.from, range.to, tick.value]);
  const logsHref = withRange("/logs", { q: `host = ${oqlString(host)}` });
  const s = series.data;
  const empty = s && s.x.length === 0;
  const lastAt = s && s.x.length ? s.x[s.x.length - 1] * 1000 : null;
  // Chart rebuilds when its data changes identity: build each panel's arrays once per answer.
  const panels = useMemo(
    () =>
      s
        ? PANELS.map((p) => {
            const metrics = p.metrics.filter((m) => s.metrics.includes(m));
            return { ...p, metrics, data: [s.x, ...metrics.map((m) => s.series[m] ?? [])] };
          }).filter((p) => p.metrics.length > 0)
        : [],
    [s],
  );

  return (
    <div class="host-detail">
      <div class="page-head">
        <Link href={withRange("/hosts")} class="muted">
          Hosts
        </Link>
        <span class="muted" aria-hidden="true">
          /
        </span>
        <h1>{host}</h1>
        {lastAt !== null && (
          <span class="muted" title={formatTimestamp(lastAt)}>
            last point {formatRelative(lastAt)}
          </span>
        )}
        <div class="actions">
          <Link href={logsHref} class="btn">
            Logs of {host}
          </Link>
        </div>
      </div>
      <ErrorNote error={series.error} />
      {series.loading && !s && <Loading label="Loading metrics" />}
      {series.data === null && (
        <section class="card">
          <AgentHint>
            <h2>No host metrics yet</h2>
          </AgentHint>
        </section>
      )}
      {empty && (
        <section class="card">
          <Empty>
            No metrics from <strong>{host}</strong> in this range. Try a longer range, or check that its agent is running and can reach this server.
          </Empty>
        </section>
      )}
      {s && !empty && (
        <div class="host-charts">
          {panels.map((p) => {
            const metrics = p.metrics;
            const now = lastValue(s.series[metrics[0]]);
            const fmt = p.percent ? formatPct : formatLoad;
            return (
              <Card
                title={
                  <>
                    {p.title}
                    <span class="host-now">{fmt(now)}</span>
                  </>
                }
              >
                <Chart
                  label={`${p.title} of ${host}`}
                  data={p.data}
                  series={metrics.map((m) => ({
                    label: p.percent ? p.title : m.replace("load_", "load "),
                    color: p.percent ? p.color : LOAD_COLORS[m],
                    format: fmt,
                  }))}
                  yFormat={p.percent ? (v) => `${Math.round(v)}%` : (v) => v.toFixed(1)}
                  sync="host-detail"
                  xRange={[s.from / 1000, s.to / 1000]}
                  onZoom={(from, to) => setRange({ from, to })}
                  height={170}
                />
              </Card>
            );
          })}
        </div>
      )}
      <Card
        title="Recent logs"
        class="host-logs"
        actions={
          <Link href={logsHref} class="btn small">
            Open in Logs
          </Link>
        }
      >
        <ErrorNote error={logs.error} />
        {logs.loading && !logs.data && <Loading label="Loading logs" />}
        {logs.data && logs.data.length === 0 && (
          <Empty>
            No logs from {host} in this range. The agent sends a host's log files when its config lists them under <code>[[logs]]</code>; OTLP senders need the resource
            attribute <code>host.name</code>.
          </Empty>
        )}
        {logs.data && logs.data.length > 0 && (
          <>
            <table class="table host-logs-table">
              <thead>
                <tr>
                  <th>Time</th>
                  <th>Level</th>
                  <th>Service</th>
                  <th>Message</th>
                </tr>
              </thead>
              <tbody>
                {logs.data.map((r) => {
                  const level = String(r.level ?? "");
                  return (
                    <tr>
                      <td class="mono nowrap">{formatTimestamp(String(r.timestamp))}</td>
                      <td>
                        <span class="host-level" style={{ color: LEVEL_COLORS[level] ?? undefined }}>
                          {level || "–"}
                        </span>
                      </td>
                      <td class="nowrap">{String(r.service ?? "")}</td>
                      <td class="mono host-log-body" title={String(r.body ?? "")}>
                        {String(r.body ?? "")}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
            {logs.data.length >= LOG_LIMIT && (
              <p class="muted">
                The newest {LOG_LIMIT}. <Link href={logsHref}>See every log of {host}</Link>.
              </p>
            )}
          </>
        )}
      </Card>
    </div>
  );
}
