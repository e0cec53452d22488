// The schema page (`/schema?table=`): the org's tables (`SHOW TABLES`) with metric
// namespaces apart, the chosen table's columns and types (`DESCRIBE`), the attribute and
// resource keys its recent rows carry, and for `metrics` the metric names. Every column,
// key and metric opens /query with a starter query.
import { oql, records } from "../../lib/api";
import { formatNumber, formatPercent } from "../../lib/format";
import { useLoad, useTitle } from "../../lib/hooks";
import { Link, location } from "../../lib/router";
import { Badge, Card, Empty, ErrorNote, Loading } from "../../components/ui";
import { KEY_SAMPLE_ROWS, loadColumns, loadMapKeys, loadTables, type KeyCount, type TableInfo } from "../../components/editor/schema";
import { aboutColumn, columnStarter, keyStarter, metricStarter, queryHref, tableStarter } from "./starters";
import "./schema.css";

function TableNav({ tables, selected }: { tables: TableInfo[]; selected: string }) {
  const stored = tables.filter((t) => t.kind !== "metric namespace");
  const namespaces = tables.filter((t) => t.kind === "metric namespace");
  const item = (t: TableInfo) => (
    <Link href={`/schema?table=${encodeURIComponent(t.name)}`} class={t.name === selected ? "active" : ""} aria-current={t.name === selected ? "page" : undefined}>
      {t.name}
    </Link>
  );
  return (
    <div class="schema-nav">
      <nav class="sidenav" aria-label="Tables">
        <h3>Tables</h3>
        {stored.map(item)}
      </nav>
      <nav class="sidenav" aria-label="Metric namespaces">
        <h3>Metric namespaces</h3>
        {namespaces.length ? namespaces.map(item) : <p class="muted schema-none">None yet: metrics named like host.cpu_usage_pct make one.</p>}
      </nav>
    </div>
  );
}

function Columns({ table }: { table: TableInfo }) {
  const columns = useLoad(() => loadColumns(table.name), [table.name]);
  const isNs = table.kind === "metric namespace";
  return (
    <Card
      title={
        <>
          {table.name} {table.kind !== table.name && <Badge tone="info">{table.kind}</Badge>}
        </>
      }
      actions={
        <Link href={queryHref(tableStarter(table.name))} class="btn small">
          Query {table.name}
        </Link>
      }
    >
      <ErrorNote error={columns.error} />
      {columns.loading && !columns.data && <Loading label="Loading columns" />}
      {columns.data && (
        <table class="table schema-columns" aria-label={`Columns of ${table.name}`}>
          <thead>
            <tr>
              <th scope="col">Column</th>
              <th scope="col">Type</th>
              <th scope="col">{isNs ? "Metric" : "About"}</th>
            </tr>
          </thead>
          <tbody>
            {columns.data.map((c) => (
              <tr>
                <td>
                  <Link href={queryHref(columnStarter(table.name, table.kind, c.name, c.type))} class="mono" title={`Open a query on ${c.name}`}>
                    {c.name}
                  </Link>
                </td>
                <td>
                  <span class={`schema-type t-${c.type}`}>{c.type}</span>
                </td>
                {isNs ? <td class="mono muted">{c.metric ?? aboutColumn(table.kind, c.name)}</td> : <td class="muted about">{aboutColumn(table.kind, c.name)}</td>}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {isNs && <p class="muted schema-note">Each metric <code>{table.name}.x</code> is column <code>x</code> here; points that share a timestamp and attributes form one row.</p>}
    </Card>
  );
}

function KeyList({ table, map, keys, sampled }: { table: string; map: string; keys: KeyCount[]; sampled: number }) {
  if (!keys.length) return <p class="muted">No {map} keys in the sampled rows.</p>;
  return (
    <table class="table schema-keys" aria-label={`${map} keys of ${table}`}>
      <thead>
        <tr>
          <th scope="col">Key</th>
          <th scope="col" class="num">
            Rows
          </th>
          <th scope="col">Share</th>
        </tr>
      </thead>
      <tbody>
        {keys.slice(0, 40).map((k) => (
          <tr>
            <td>
              <Link href={queryHref(keyStarter(table, map, k.key))} class="mono" title={`Open a query on ${map}['${k.key}']`}>
                {k.key}
              </Link>
            </td>
            <td class="num">{formatNumber(k.rows)}</td>
            <td class="share">
              <span class="track">
                <span class="bar" style={{ width: `${Math.max(2, Math.round((k.rows / sampled) * 100))}%` }} />
              </span>
              <span class="muted">{formatPercent(k.rows / sampled)}</span>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Keys({ table }: { table: TableInfo }) {
  const keys = useLoad(() => loadMapKeys(table.name), [table.name]);
  return (
    <Card title="Frequent attribute keys">
      <p class="muted schema-note">From the newest {formatNumber(KEY_SAMPLE_ROWS)} rows of the last 24 hours{keys.data ? ` (${formatNumber(keys.data.sampled)} found)` : ""}.</p>
      <ErrorNote error={keys.error} />
      {keys.loading && !keys.data && <Loading label="Sampling rows" />}
      {keys.data &&
        (keys.data.sampled === 0 ? (
          <Empty>No rows in the last 24 hours.</Empty>
        ) : (
          <div class="schema-keygrid">
            <div>
              <h3>attributes</h3>
              <KeyList table={table.name} map="attributes" keys={keys.data.attributes} sampled={keys.data.sampled} />
            </div>
            <div>
              <h3>resource</h3>
              <KeyList table={table.name} map="resource" keys={keys.data.resource} sampled={keys.data.sampled} />
            </div>
          </div>
        ))}
    </Card>
  );
}

function Metrics() {
  const metrics = useLoad(
    async (signal) => records(await oql("SELECT name, type, unit, count(*) AS points FROM metrics GROUP BY name, type, unit ORDER BY name", { from: "now-24h", to: "now", signal })),
    [],
  );
  return (
    <Card title="Metrics">
      <p class="muted schema-note">Metric names seen in the last 24 hours.</p>
      <ErrorNote error={metrics.error} />
      {metrics.loading && !metrics.data && <Loading label="Loading metrics" />}
      {metrics.data && metrics.data.length === 0 && <Empty>No metrics in the last 24 hours. The agent sends host metrics; any OTLP exporter sends others.</Empty>}
      {metrics.data && metrics.data.length > 0 && (
        <table class="table" aria-label="Metrics">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Type</th>
              <th scope="col">Unit</th>
              <th scope="col" class="num">
                Points
              </th>
            </tr>
          </thead>
          <tbody>
            {metrics.data.map((m) => (
              <tr>
                <td>
                  <Link href={queryHref(metricStarter(String(m.name)))} class="mono">
                    {String(m.name)}
                  </Link>
                </td>
                <td>{String(m.type ?? "")}</td>
                <td class="mono">{String(m.unit ?? "")}</td>
                <td class="num">{formatNumber(Number(m.points))}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Card>
  );
}

export default function Schema() {
  useTitle("Schema");
  const tables = useLoad(() => loadTables(), []);
  const list = tables.data ?? [];
  const wanted = location.value.query.get("table") ?? "logs";
  const table = list.find((t) => t.name === wanted) ?? null;

  return (
    <div class="schema-page">
      <div class="page-head">
        <h1>Schema</h1>
        <span class="muted">
          {list.length ? `${list.length} tables` : ""} · every table has <code>timestamp</code>, <code>service</code>, <code>host</code>, <code>attributes[…]</code> and <code>resource[…]</code>
        </span>
      </div>
      <ErrorNote error={tables.error} />
      {tables.loading && !tables.data && <Loading label="Loading tables" />}
      {tables.data && (
        <div class="sidebar-layout">
          <TableNav tables={list} selected={table?.name ?? wanted} />
          <div class="schema-main">
            {table ? (
              <>
                <div class="schema-cols">
                  <Columns key={table.name} table={table} />
                  <Keys key={table.name} table={table} />
                </div>
                {table.kind === "metrics" && <Metrics />}
              </>
            ) : (
              <Empty>
                There is no table <code>{wanted}</code>. Pick one on the left.
              </Empty>
            )}
          </div>
        </div>
      )}
    </div>
  );
}
