// The details of one log line: its fields, the body (pretty JSON when it parses), the
// attributes and resource with filter buttons, a link to its trace and to its context.
import { JsonView, tryParseJson } from "../../components/JsonView";
import { CopyButton } from "../../components/ui";
import { LEVEL_COLORS, colorFor } from "../../lib/colors";
import { formatTimestamp } from "../../lib/format";
import { contextHref, type LogRow } from "../../lib/logs";
import type { FieldRef, FilterMode, FilterValue } from "../../lib/oqlFilter";
import { Link } from "../../lib/router";

interface Props {
  row: LogRow;
  onFilter: (field: FieldRef, value: FilterValue, mode: FilterMode) => void;
  onClose: () => void;
}

function FilterButtons({ field, label, value, onFilter }: { field: FieldRef; label: string; value: FilterValue; onFilter: Props["onFilter"] }) {
  const name = `${label} = ${value === null ? "(empty)" : String(value)}`;
  return (
    <span class="logs-kv-actions">
      <button type="button" class="btn small logs-fbtn" aria-label={`Filter in ${name}`} title={`Filter in ${name}`} onClick={() => onFilter(field, value, "in")}>
        +
      </button>
      <button type="button" class="btn small logs-fbtn" aria-label={`Filter out ${name}`} title={`Filter out ${name}`} onClick={() => onFilter(field, value, "out")}>
        −
      </button>
    </span>
  );
}

function MapTable({ title, map, prefix, onFilter }: { title: string; map: Record<string, unknown>; prefix: "attributes" | "resource"; onFilter: Props["onFilter"] }) {
  const entries = Object.entries(map).sort(([a], [b]) => a.localeCompare(b));
  return (
    <section aria-label={title}>
      <h3>{title}</h3>
      {entries.length === 0 ? (
        <p class="muted logs-small">None.</p>
      ) : (
        <table class="table logs-map">
          <thead>
            <tr>
              <th scope="col">Key</th>
              <th scope="col">Value</th>
              <th scope="col">
                <span class="sr-only">Filter</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {entries.map(([k, v]) => {
              const value = v === null || v === undefined ? null : typeof v === "object" ? JSON.stringify(v) : (v as FilterValue);
              return (
                <tr>
                  <td class="mono">{k}</td>
                  <td class="mono logs-map-value">{value === null ? <span class="muted">null</span> : String(value)}</td>
                  <td class="logs-map-act">
                    <FilterButtons field={`${prefix}.${k}`} label={k} value={value} onFilter={onFilter} />
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function LogDetails({ row, onFilter, onClose }: Props) {
  const json = tryParseJson(row.body);
  const level = row.level ?? "unknown";
  const top: [string, FieldRef, string | null][] = [
    ["Level", "level", row.level],
    ["Service", "service", row.service],
    ["Host", "host", row.host],
  ];
  return (
    <aside class="logs-details card" aria-label="Log details">
      <header class="card-head">
        <h2>Log line</h2>
        <div class="actions">
          <Link href={contextHref(row)} class="btn small">
            Show context
          </Link>
          <button type="button" class="btn small" onClick={onClose}>
            Close
          </button>
        </div>
      </header>
      <dl class="kv logs-top">
        <dt>Time</dt>
        <dd title={row.timestamp}>{formatTimestamp(row.timestamp)}</dd>
        {top.map(([label, field, value]) => (
          <>
            <dt>{label}</dt>
            <dd class="logs-top-value">
              <span>
                {field === "level" && <span class="logs-dot" style={{ background: LEVEL_COLORS[level] ?? colorFor(level) }} />}
                {value ?? <span class="muted">(empty)</span>}
              </span>
              <FilterButtons field={field} label={field} value={value} onFilter={onFilter} />
            </dd>
          </>
        ))}
        <dt>Trace</dt>
        <dd>{row.trace_id ? <Link href={`/traces/${encodeURIComponent(row.trace_id)}`}>{row.trace_id}</Link> : <span class="muted">none</span>}</dd>
        {row.span_id && (
          <>
            <dt>Span</dt>
            <dd>{row.span_id}</dd>
          </>
        )}
      </dl>
      <section aria-label="Body">
        <h3 class="logs-body-head">
          Body {json !== undefined && <span class="badge info">JSON</span>}
          <span class="logs-copy">
            <CopyButton text={row.body ?? ""} label="Copy body" />
          </span>
        </h3>
        {json !== undefined ? <JsonView value={json} /> : <pre class="logs-body" data-copy={row.body ?? ""}>{row.body ?? ""}</pre>}
      </section>
      <MapTable title="Attributes" map={row.attributes} prefix="attributes" onFilter={onFilter} />
      <MapTable title="Resource" map={row.resource} prefix="resource" onFilter={onFilter} />
    </aside>
  );
}
