// A panel's answer drawn by its kind: time series and bars on the shared Chart (with the
// dashboard's synced cursor and markers), bars by category, a table, or one big number.
import { useMemo } from "preact/hooks";
import { Chart, type Marker } from "../../components/Chart";
import { Empty } from "../../components/ui";
import type { OqlResult } from "../../lib/api";
import { thresholdColor, toBars, toSeries, toStat, type PanelKind } from "../../lib/dashboard";
import { formatNumber, formatTimestamp } from "../../lib/format";
import { colorFor } from "../../lib/colors";

/** Table rows drawn at most; the panel says how many more the answer has. */
const TABLE_ROWS = 200;

export interface PanelBodyProps {
  kind: PanelKind;
  result: OqlResult;
  /** Height available for the drawing, in px. */
  height: number;
  /** Accessible name of the chart or table. */
  label: string;
  markers?: Marker[];
  sync?: string;
  xRange?: [number, number];
  onZoom?: (from: number, to: number) => void;
  /** The panel's display options (`thresholds` colour a stat). */
  options?: Record<string, unknown>;
}

function cell(value: unknown, type: string): string {
  if (value === null || value === undefined) return "–";
  if (type === "timestamp" && typeof value === "string") return formatTimestamp(value);
  if (typeof value === "number") return formatNumber(value);
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

export function PanelBody({ kind, result, height, label, markers, sync, xRange, onZoom, options }: PanelBodyProps) {
  // The chart rebuilds when its data changes identity: shape the answer once per answer.
  const series = useMemo(() => (kind === "timeseries" || kind === "bar" ? toSeries(result) : null), [result, kind]);
  const chartSeries = useMemo(() => series?.labels.map((l) => ({ label: l, kind: kind === "bar" ? ("bars" as const) : ("line" as const) })) ?? [], [series, kind]);
  if (kind === "stat") {
    const stat = toStat(result);
    if (!stat) return <Empty>No data in this range.</Empty>;
    const text = typeof stat.value === "number" ? formatNumber(stat.value) : stat.value === null || stat.value === undefined ? "–" : String(stat.value);
    return (
      <div class="dash-stat" role="group" aria-label={label}>
        <div class="dash-stat-value" title={String(stat.value)} style={{ color: thresholdColor(stat.value, options?.thresholds) }}>
          {text}
        </div>
        <div class="dash-stat-label muted">{stat.column}</div>
      </div>
    );
  }
  if (kind === "table") {
    if (!result.rows.length) return <Empty>No rows in this range.</Empty>;
    return (
      <div class="dash-table" style={{ maxHeight: `${height}px` }}>
        <table class="table" aria-label={label}>
          <thead>
            <tr>
              {result.columns.map((c) => (
                <th class={c.type === "integer" || c.type === "float" ? "num" : ""}>{c.name}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {result.rows.slice(0, TABLE_ROWS).map((row) => (
              <tr>
                {row.map((v, i) => (
                  <td class={result.columns[i].type === "integer" || result.columns[i].type === "float" ? "num" : ""}>{cell(v, result.columns[i].type)}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
        {result.rows.length > TABLE_ROWS && (
          <p class="muted small">
            Showing {TABLE_ROWS} of {result.rows.length} rows; narrow the query (WHERE, LIMIT) to see the rest.
          </p>
        )}
      </div>
    );
  }
  if (kind === "bar" && !series) {
    const bars = toBars(result);
    if (!bars.length) return <Empty>No data in this range.</Empty>;
    const max = Math.max(...bars.map((b) => b.value), 0) || 1;
    return (
      <ul class="dash-bars" aria-label={label} style={{ maxHeight: `${height}px` }}>
        {bars.map((b) => (
          <li>
            <span class="dash-bar-label" title={b.label}>
              {b.label}
            </span>
            <span class="dash-bar-track">
              <span class="dash-bar-fill" style={{ width: `${Math.max(0.5, (b.value / max) * 100)}%`, background: colorFor(b.label) }} />
            </span>
            <span class="dash-bar-value">{formatNumber(b.value)}</span>
          </li>
        ))}
      </ul>
    );
  }
  if (!series) {
    return (
      <Empty>
        A time series needs a time column: <code>SELECT bucket() AS t, count(*) FROM logs GROUP BY t</code>.
      </Empty>
    );
  }
  if (!series.labels.length || !series.data[0].length) return <Empty>No data in this range.</Empty>;
  const legend = series.labels.length > 1;
  return (
    <Chart
      label={label}
      data={series.data}
      series={chartSeries}
      stacked={kind === "bar" && series.labels.length > 1}
      height={Math.max(80, height - (legend ? 30 : 0))}
      markers={markers}
      sync={sync}
      xRange={xRange}
      onZoom={onZoom}
    />
  );
}
