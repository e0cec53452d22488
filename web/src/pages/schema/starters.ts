// Starter queries the schema page links to: a sensible first look at a column, a map key,
// a metric or a whole table, written so they run as they are.
import { promotedColumn } from "../../components/editor/schema";
import { quoteIdent, quoteString } from "../../lib/oqlLanguage";

/** Columns that hold free text or ids: their values are better read than counted. */
const READ_NOT_COUNT = new Set(["body", "trace_id", "span_id", "parent_span_id", "status_message", "events", "links", "data", "description", "trace_state", "event_name"]);

const queryHref = (q: string) => `/query?${new URLSearchParams({ q })}`;

export function tableStarter(table: string): string {
  return `SELECT * FROM ${quoteIdent(table)} ORDER BY timestamp DESC LIMIT 100`;
}

/** A first query on `column` (of `type`) of `table` (whose kind `SHOW TABLES` gave). */
export function columnStarter(table: string, kind: string, column: string, type: string): string {
  // A key stored as a column is written as the map access it stands for.
  const promoted = promotedColumn(column);
  if (promoted) return keyStarter(table, promoted.map, promoted.key);
  const t = quoteIdent(table);
  const c = quoteIdent(column);
  if (type === "timestamp") return `SELECT bucket() AS t, count(*) FROM ${t} GROUP BY t ORDER BY t`;
  if (type === "integer" || type === "float") {
    if (kind === "metric namespace") return `SELECT bucket() AS t, host, avg(${c}) FROM ${t} GROUP BY t, host ORDER BY t`;
    return `SELECT bucket() AS t, avg(${c}), p95(${c}), max(${c}) FROM ${t} GROUP BY t ORDER BY t`;
  }
  if (type === "map" || type === "list" || READ_NOT_COUNT.has(column)) return `SELECT timestamp, ${c} FROM ${t} WHERE ${c} IS NOT NULL ORDER BY timestamp DESC LIMIT 100`;
  return `SELECT ${c}, count(*) FROM ${t} GROUP BY ${c} ORDER BY count(*) DESC LIMIT 20`;
}

/** The most common values of one key of a map column. */
export function keyStarter(table: string, map: string, key: string): string {
  return `SELECT ${quoteIdent(map)}[${quoteString(key)}] AS value, count(*) FROM ${quoteIdent(table)} GROUP BY value ORDER BY count(*) DESC LIMIT 20`;
}

/** A metric's points over time, from the `metrics` table. */
export function metricStarter(name: string): string {
  return `SELECT bucket() AS t, host, avg(value) FROM metrics WHERE name = ${quoteString(name)} GROUP BY t, host ORDER BY t`;
}

export { queryHref };

const COMMON: Record<string, string> = {
  timestamp: "when it happened",
  service: "the resource's service.name",
  host: "the resource's host.name",
  attributes: "the record's attributes: attributes['key']",
  resource: "the resource's attributes: resource['key']",
  scope_name: "the instrumentation scope",
};
const BY_KIND: Record<string, Record<string, string>> = {
  logs: {
    observed_timestamp: "when a collector first saw it",
    level: "lower-case severity: trace, debug, info, warn, error, fatal",
    severity_number: "OTLP severity, 1 to 24",
    severity_text: "the severity as sent",
    body: "the log message",
    trace_id: "the trace it was logged in",
    span_id: "the span it was logged in",
    flags: "W3C trace flags",
    event_name: "the OTLP event name",
  },
  spans: {
    end_timestamp: "when it ended",
    duration_ms: "end minus start, in milliseconds",
    trace_id: "the trace it belongs to",
    span_id: "its own id",
    parent_span_id: "the span that called it; empty for a root",
    name: "the operation",
    kind: "server, client, internal, producer or consumer",
    status: "unset, ok or error",
    status_message: "why it failed",
    trace_state: "W3C tracestate",
    events: "span events, as JSON",
    links: "links to other spans, as JSON",
  },
  metrics: {
    start_timestamp: "start of a cumulative or delta interval",
    name: "the metric (ns.rest_of_name is also column rest_of_name of table ns)",
    type: "gauge, sum, histogram, ...",
    unit: "the unit as sent",
    description: "the metric's description",
    temporality: "cumulative or delta (sums and histograms)",
    is_monotonic: "whether a sum only grows",
    value: "a gauge's or sum's value",
    count: "histogram: number of values",
    sum: "histogram: sum of values",
    min: "histogram: smallest value",
    max: "histogram: largest value",
    bucket_counts: "histogram: values per bucket",
    explicit_bounds: "histogram: bucket bounds",
    data: "the data point as JSON",
  },
};

/** A few words on what a built-in column holds (empty when unknown). */
export function aboutColumn(kind: string, column: string): string {
  if (promotedColumn(column)) return "A frequent key, stored as a column of its own: fast to filter and group by.";
  return BY_KIND[kind]?.[column] ?? COMMON[column] ?? "";
}
