// The overview (`/`), the product's front page, over the URL's range: request and error-rate
// charts, services (rate, error % against the org's thresholds, p50/p95/p99), a host strip,
// firing alerts, heartbeat states and recent annotations. Each section loads on its own, so
// a slow or failing one does not hold the others back, and says how to send data when empty.
import { useMemo } from "preact/hooks";
import { Chart, type Marker } from "../../components/Chart";
import { Badge, Card, ErrorNote, Loading, toneOf } from "../../components/ui";
import { get, oql, records, withQuery } from "../../lib/api";
import { colorFor } from "../../lib/colors";
import { formatDuration, formatNumber, formatRelative, formatTimestamp } from "../../lib/format";
import { useLoad, useTitle, type Loaded } from "../../lib/hooks";
import { oqlString, stripHosts } from "../../lib/hosts";
import {
  SERVICE_LATENCY_QUERY,
  SERVICE_SPANS_QUERY,
  SERVICE_STATUS_QUERY,
  errorTone,
  formatErrorPercent,
  formatRate,
  pickStep,
  rateAxis,
  ratePerSecond,
  requestSeries,
  requestSeriesQuery,
  serviceStats,
  totals,
  type Thresholds,
} from "../../lib/overview";
import { Link } from "../../lib/router";
import { canEdit, currentOrg, isAdmin } from "../../lib/session";
import { isRelative, iso, rangeLabel, resolveRange, setRange, tick, urlRange, type TimeRange } from "../../lib/time";
import { Meter, hostHref, loadLatestHosts, withRange } from "../hosts/common";
import "./overview.css";

/** The org's thresholds (percent); the server's defaults until the org has loaded. */
const thresholds = (): Thresholds => currentOrg.value?.error_rate_thresholds ?? { warning: 1, critical: 5 };

interface Annotation {
  id: string;
  name: string;
  title: string;
  text?: string | null;
  tags: string[];
  time: string;
  time_end?: string | null;
}
interface Heartbeat {
  name: string;
  state: string;
  state_since: string;
  next_due?: string | null;
  last_ping_at?: string | null;
  schedule: string;
}
interface AlertInstance {
  rule_id: string;
  rule_name: string;
  fingerprint: string;
  labels: Record<string, string>;
  state: string;
  value: number | null;
  since: string;
}

async function loadServices(range: TimeRange, signal: AbortSignal) {
  const { from, to } = resolveRange(range);
  const req = { from: range.from, to: range.to, signal };
  const [status, latency, spans] = await Promise.all([oql(SERVICE_STATUS_QUERY, req), oql(SERVICE_LATENCY_QUERY, req), oql(SERVICE_SPANS_QUERY, req)]);
  const stats = serviceStats(records(status), records(latency), records(spans));
  return { stats, rangeMs: to - from, truncated: status.truncated || latency.truncated || spans.truncated };
}

async function loadSeries(range: TimeRange, signal: AbortSignal) {
  const { from, to } = resolveRange(range);
  // About 60 bars across: the trend of sparse traffic rather than single requests.
  const { step, seconds } = pickStep(to - from, 60);
  const answer = await oql(requestSeriesQuery(step), { from: range.from, to: range.to, signal });
  return { from, to, step, ...requestSeries(records(answer), from, to, seconds) };
}

async function loadAnnotations(range: TimeRange, signal: AbortSignal) {
  const { from, to } = resolveRange(range);
  const answer = await get<{ annotations: Annotation[] }>(withQuery("/api/v1/annotations", { from: iso(from), to: iso(to), limit: 50 }), { signal });
  return answer.annotations;
}

export default function Overview() {
  useTitle("Overview");
  const range = urlRange.value;
  const deps = [range.from, range.to, tick.value];
  const services = useLoad((signal) => loadServices(range, signal), deps);
  const series = useLoad((signal) => loadSeries(range, signal), deps);
  const hosts = useLoad((signal) => loadLatestHosts(range, signal), deps);
  const annotations = useLoad((signal) => loadAnnotations(range, signal), deps);
  const heartbeats = useLoad((signal) => get<{ heartbeats: Heartbeat[] }>("/api/v1/heartbeats", { signal }).then((a) => a.heartbeats), [tick.value]);
  const alerts = useLoad((signal) => get<{ alert_instances: AlertInstance[] }>("/api/v1/alert-instances?state=firing", { signal }).then((a) => a.alert_instances), [tick.value]);

  const markers = useMemo<Marker[]>(
    () =>
      (annotations.data ?? []).map((a) => ({
        time: Date.parse(a.time),
        timeEnd: a.time_end ? Date.parse(a.time_end) : undefined,
        title: `${a.title} (${a.name})`,
        kind: "annotation",
      })),
    [annotations.data],
  );

  return (
    <div class="overview">
      <div class="page-head">
        <h1>Overview</h1>
        {/* An absolute range is spelled out by the time picker already. */}
        {isRelative(range) && <span class="muted">{rangeLabel(range)}</span>}
      </div>
      <ServiceCharts series={series} services={services} markers={markers} />
      <ServicesCard services={services} />
      <HostsCard hosts={hosts} />
      <div class="ov-columns">
        <AlertsCard alerts={alerts} />
        <HeartbeatsCard heartbeats={heartbeats} />
        <AnnotationsCard annotations={annotations} />
      </div>
    </div>
  );
}

type ServicesData = Awaited<ReturnType<typeof loadServices>>;
type SeriesData = Awaited<ReturnType<typeof loadSeries>>;

function ServiceCharts({ series, services, markers }: { series: Loaded<SeriesData>; services: Loaded<ServicesData>; markers: Marker[] }) {
  const s = series.data;
  const t = services.data ? totals(services.data.stats) : null;
  const th = thresholds();
  // Nothing to draw without requests: an empty chart of axes only looks broken.
  const some = !!s && s.rate.some((v) => v > 0);
  const rateData = useMemo(() => (s && some ? [s.x, s.rate] : null), [s, some]);
  const errorData = useMemo(() => (s && some ? [s.x, s.errorPct] : null), [s, some]);
  const rateFormat = useMemo(() => rateAxis(s ? Math.max(0, ...s.rate) : 0), [s]);
  const nothing = s && !some && <div class="ov-chart-placeholder ov-chart-empty">No requests in this range</div>;
  const xRange = s ? ([s.from / 1000, s.to / 1000] as [number, number]) : undefined;
  const zoom = (from: number, to: number) => setRange({ from, to });
  return (
    <div class="ov-charts">
      <Card
        title={
          <>
            Requests
            {t && services.data && <span class="ov-figure">{formatRate(ratePerSecond(t.requests, services.data.rangeMs))}</span>}
            {t && <span class="ov-sub">{formatNumber(t.requests)} in range</span>}
          </>
        }
      >
        <ErrorNote error={series.error} />
        {rateData ? (
          <Chart
            label="Request rate"
            data={rateData}
            series={[{ label: "requests/s", color: "#3b6fd8", kind: "bars", format: formatRate }]}
            yFormat={rateFormat}
            xRange={xRange}
            markers={markers}
            sync="overview"
            onZoom={zoom}
            height={150}
          />
        ) : (
          nothing || (!series.error && <div class="ov-chart-placeholder" />)
        )}
      </Card>
      <Card
        title={
          <>
            Error rate
            {t && (
              <span class="ov-figure">
                <Badge tone={errorTone(t.errorPct, th)}>{formatErrorPercent(t.errorPct)}</Badge>
              </span>
            )}
            {t && <span class="ov-sub">{formatNumber(t.errors)} failed</span>}
          </>
        }
      >
        {errorData ? (
          <Chart
            label="Error rate"
            data={errorData}
            series={[{ label: "error %", color: "#dc2626", kind: "line", format: (v) => formatErrorPercent(v) }]}
            yFormat={(v) => `${formatNumber(v)}%`}
            xRange={xRange}
            markers={markers}
            sync="overview"
            onZoom={zoom}
            height={150}
          />
        ) : (
          nothing || (!series.error && <div class="ov-chart-placeholder" />)
        )}
      </Card>
    </div>
  );
}

function ThresholdLegend() {
  const th = thresholds();
  return (
    <p class="ov-legend" aria-label="Error rate thresholds">
      <span>Error %:</span>
      <Badge tone="ok">{`below ${th.warning}%`}</Badge>
      <Badge tone="warn">{`warning ≥ ${th.warning}%`}</Badge>
      <Badge tone="bad">{`critical ≥ ${th.critical}%`}</Badge>
      <span class="muted">
        the organization's thresholds
        {isAdmin.value && (
          <>
            {" "}
            (<Link href="/settings/org">change</Link>)
          </>
        )}
        . Requests are server, consumer and root spans.
      </span>
    </p>
  );
}

function ServicesCard({ services }: { services: Loaded<ServicesData> }) {
  const d = services.data;
  const th = thresholds();
  return (
    <Card title="Services" class="ov-services" actions={<Link href={withRange("/traces")}>All traces →</Link>}>
      <ErrorNote error={services.error} />
      {services.loading && !d && <Loading label="Loading services" />}
      {d && d.stats.length === 0 && <TracesHint />}
      {d && d.stats.length > 0 && (
        <>
          <div class="ov-table-wrap">
            <table class="table ov-services-table">
              <thead>
                <tr>
                  <th>Service</th>
                  <th class="num">Requests</th>
                  <th class="num">Rate</th>
                  <th class="num">Errors</th>
                  <th class="num">Error %</th>
                  <th class="num">p50</th>
                  <th class="num">p95</th>
                  <th class="num">p99</th>
                  <th>
                    <span class="sr-only">Links</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {d.stats.map((s) => (
                  <tr key={s.service}>
                    <td>
                      <span class="ov-dot" style={{ background: colorFor(s.service) }} aria-hidden="true" />
                      <Link href={withRange("/traces", { service: s.service })} class="ov-service">
                        {s.service || "(no service.name)"}
                      </Link>
                    </td>
                    <td class="num">{formatNumber(s.requests)}</td>
                    <td class="num" title={`${(ratePerSecond(s.requests, d.rangeMs)).toPrecision(3)} requests per second`}>
                      {formatRate(ratePerSecond(s.requests, d.rangeMs))}
                    </td>
                    <td class="num">{formatNumber(s.errors)}</td>
                    <td class="num">
                      <Badge tone={errorTone(s.errorPct, th)}>{formatErrorPercent(s.errorPct)}</Badge>
                    </td>
                    <td class="num">{formatDuration(s.p50)}</td>
                    <td class="num">{formatDuration(s.p95)}</td>
                    <td class="num">{formatDuration(s.p99)}</td>
                    <td class="ov-links">
                      <Link href={withRange("/traces", { service: s.service })}>
                        Traces<span class="sr-only"> of {s.service}</span>
                      </Link>
                      <Link href={withRange("/logs", { q: `service = ${oqlString(s.service)}` })}>
                        Logs<span class="sr-only"> of {s.service}</span>
                      </Link>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <ThresholdLegend />
          {d.truncated && <p class="muted">The answer was capped: some services may be missing.</p>}
        </>
      )}
    </Card>
  );
}

function Snippet({ children }: { children: string }) {
  return <pre class="ov-snippet">{children}</pre>;
}

function TracesHint() {
  const host = window.location.hostname;
  return (
    <div class="ov-empty">
      <p>
        <strong>No requests in this range.</strong> Point an OpenTelemetry SDK or Collector at this server with an API key (Settings → API keys):
      </p>
      <Snippet>{`OTEL_EXPORTER_OTLP_ENDPOINT=http://${host}:4318      # OTLP/HTTP (gRPC: ${host}:4317)
OTEL_EXPORTER_OTLP_HEADERS=x-api-key=<your API key>
OTEL_SERVICE_NAME=checkout`}</Snippet>
      <p class="muted">Services show up here with their first server or root spans. Already sending? Try a longer range.</p>
    </div>
  );
}

type HostsData = Awaited<ReturnType<typeof loadLatestHosts>>;
/** Two rows of the strip at the usual width; more hosts live on the hosts page. */
const STRIP_MAX = 12;

function HostsCard({ hosts }: { hosts: Loaded<HostsData> }) {
  const d = hosts.data;
  const strip = d ? stripHosts(d.hosts, STRIP_MAX) : null;
  const grpc = `${window.location.hostname}:4317`;
  return (
    <Card title="Hosts" class="ov-hosts" actions={<Link href={withRange("/hosts")}>All hosts →</Link>}>
      <ErrorNote error={hosts.error} />
      {hosts.loading && !d && <Loading label="Loading hosts" />}
      {d && d.hosts.length === 0 && (
        <div class="ov-empty">
          <p>
            <strong>{d.noTable ? "No host metrics yet." : "No host reported in this range."}</strong> Run <code>hexcovery-agent</code> on each machine with{" "}
            <code>endpoint = "http://{grpc}"</code> and an API key: it sends CPU, memory, disk and load every 10 s. <Link href="/hosts">Setup</Link>
          </p>
        </div>
      )}
      {strip && strip.shown.length > 0 && (
        <ul class="ov-host-strip" aria-label="Hosts">
          {strip.shown.map((h) => (
            <li class="ov-host">
              <div class="ov-host-head">
                <Link href={hostHref(h.host)} class="ov-host-name">
                  {h.host || "(no host.name)"}
                </Link>
                <span class="muted ov-host-seen" title={formatTimestamp(h.lastSeen)}>
                  {formatRelative(h.lastSeen)}
                </span>
              </div>
              <Meter label="CPU" value={h.values.cpu_usage_pct} />
              <Meter label="Memory" value={h.values.mem_used_pct} />
              <Meter label="Disk" value={h.values.disk_used_pct} />
            </li>
          ))}
        </ul>
      )}
      {strip && strip.hidden > 0 && (
        <p class="muted">
          The {strip.shown.length} busiest of {d!.hosts.length} hosts; <Link href={withRange("/hosts")}>see them all</Link>.
        </p>
      )}
    </Card>
  );
}

function AlertsCard({ alerts }: { alerts: Loaded<AlertInstance[]> }) {
  const list = alerts.data;
  const shown = list?.slice(0, 8) ?? [];
  return (
    <Card
      title={
        <>
          Firing alerts
          {list && list.length > 0 && (
            <span class="ov-count">
              <Badge tone="bad">{list.length}</Badge>
            </span>
          )}
        </>
      }
      actions={<Link href="/alerts">Alerts →</Link>}
    >
      <ErrorNote error={alerts.error} />
      {alerts.loading && !list && <Loading label="Loading alerts" />}
      {list && list.length === 0 && (
        <div class="ov-empty">
          <p>
            <Badge tone="ok">all clear</Badge> <strong>No alert is firing.</strong>{" "}
            {canEdit.value ? (
              <>
                <Link href="/alerts">Create a rule</Link> on any OQL query over logs, spans or metrics; it notifies your channels when it fires.
              </>
            ) : (
              "Rules are made on the Alerts page."
            )}
          </p>
        </div>
      )}
      {shown.length > 0 && (
        <ul class="ov-list">
          {shown.map((a) => {
            const labels = Object.entries(a.labels).filter(([k]) => k !== "alertname");
            return (
              <li key={`${a.rule_id}/${a.fingerprint}`}>
                <div class="ov-item-head">
                  <Link href={`/alerts/${encodeURIComponent(a.rule_id)}`} class="ov-item-title">
                    {a.rule_name}
                  </Link>
                  {a.value !== null && <span class="ov-value">{formatNumber(a.value)}</span>}
                </div>
                <div class="ov-item-meta">
                  {labels.map(([k, v]) => (
                    <span class="ov-chip">
                      {k}={v}
                    </span>
                  ))}
                  <span class="muted" title={formatTimestamp(a.since)}>
                    since {formatRelative(a.since)}
                  </span>
                </div>
              </li>
            );
          })}
        </ul>
      )}
      {list && list.length > shown.length && (
        <p class="muted">
          and {list.length - shown.length} more on the <Link href="/alerts">Alerts</Link> page.
        </p>
      )}
    </Card>
  );
}

const STATE_ORDER = ["failed", "down", "late", "new", "paused", "up"];

function HeartbeatsCard({ heartbeats }: { heartbeats: Loaded<Heartbeat[]> }) {
  const list = heartbeats.data;
  const counts = new Map<string, number>();
  for (const h of list ?? []) counts.set(h.state, (counts.get(h.state) ?? 0) + 1);
  const rank = (s: string) => (STATE_ORDER.indexOf(s) + STATE_ORDER.length + 1) % (STATE_ORDER.length + 1);
  const notUp = (list ?? []).filter((h) => h.state !== "up").sort((a, b) => rank(a.state) - rank(b.state) || a.name.localeCompare(b.name));
  const shown = notUp.slice(0, 8);
  const origin = window.location.origin;
  return (
    <Card title="Heartbeats" actions={<Link href="/heartbeats">Heartbeats →</Link>}>
      <ErrorNote error={heartbeats.error} />
      {heartbeats.loading && !list && <Loading label="Loading heartbeats" />}
      {list && list.length === 0 && (
        <div class="ov-empty">
          <p>
            <strong>No monitors yet.</strong> A cron job creates its monitor with its first ping:
          </p>
          <Snippet>{`curl -fsS -X POST -H "X-API-Key: $KEY" \\
  ${origin}/api/v1/heartbeat/nightly-backup`}</Snippet>
        </div>
      )}
      {list && list.length > 0 && (
        <>
          <ul class="ov-states" aria-label="Heartbeat states">
            {[...counts.entries()]
              .sort((a, b) => rank(a[0]) - rank(b[0]))
              .map(([state, n]) => (
                <li>
                  <Badge tone={toneOf(state)}>
                    {n} {state}
                  </Badge>
                </li>
              ))}
          </ul>
          {notUp.length === 0 && <p class="muted">Every monitor is up.</p>}
          {shown.length > 0 && (
            <ul class="ov-list">
              {shown.map((h) => (
                <li key={h.name}>
                  <div class="ov-item-head">
                    <Link href={withQuery("/heartbeats", { name: h.name })} class="ov-item-title">
                      {h.name}
                    </Link>
                    <Badge tone={toneOf(h.state)}>{h.state}</Badge>
                  </div>
                  <div class="ov-item-meta muted">
                    <span title={formatTimestamp(h.state_since)}>
                      {h.state} since {formatRelative(h.state_since)}
                    </span>
                    <span>· {h.schedule}</span>
                  </div>
                </li>
              ))}
            </ul>
          )}
          {notUp.length > shown.length && (
            <p class="muted">
              and {notUp.length - shown.length} more on the <Link href="/heartbeats">Heartbeats</Link> page.
            </p>
          )}
        </>
      )}
    </Card>
  );
}

function AnnotationsCard({ annotations }: { annotations: Loaded<Annotation[]> }) {
  const list = annotations.data;
  const shown = list?.slice(0, 8) ?? [];
  const origin = window.location.origin;
  return (
    <Card title="Annotations">
      <ErrorNote error={annotations.error} />
      {annotations.loading && !list && <Loading label="Loading annotations" />}
      {list && list.length === 0 && (
        <div class="ov-empty">
          <p>
            <strong>No annotations in this range.</strong> Mark deploys from CI; they show on the charts:
          </p>
          <Snippet>{`curl -fsS -X POST -H "X-API-Key: $KEY" \\
  ${origin}/api/v1/annotations \\
  -d '{"name":"deploy/checkout","title":"v1.4.2"}'`}</Snippet>
        </div>
      )}
      {shown.length > 0 && (
        <ul class="ov-list">
          {shown.map((a) => (
            <li key={a.id}>
              <div class="ov-item-head">
                <span class="ov-item-title">{a.title}</span>
                <span class="muted ov-when" title={formatTimestamp(a.time)}>
                  {formatRelative(a.time)}
                </span>
              </div>
              <div class="ov-item-meta">
                <code class="muted">{a.name}</code>
                {a.tags.map((t) => (
                  <span class="ov-chip">{t}</span>
                ))}
              </div>
            </li>
          ))}
        </ul>
      )}
      {list && list.length > shown.length && <p class="muted">and {list.length - shown.length} more in this range.</p>}
    </Card>
  );
}
