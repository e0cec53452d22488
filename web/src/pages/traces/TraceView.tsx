// /traces/<trace_id>: the waterfall (span tree on a time ruler, minimap zoom, critical path,
// collapse, virtualised rows), the selected span's details (?span=) and the trace's logs.
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { oql, records, type OqlResult } from "../../lib/api";
import { colorFor, LEVEL_COLORS } from "../../lib/colors";
import { formatDuration, formatTimestamp } from "../../lib/format";
import { useLoad, useTitle } from "../../lib/hooks";
import { Link, location, setParams } from "../../lib/router";
import { quoteString } from "../../lib/oqlLanguage";
import { iso } from "../../lib/time";
import { theme } from "../../lib/theme";
import { Badge, Card, CopyButton, Empty, ErrorNote, Loading, toneOf } from "../../components/ui";
import { VirtualList } from "../../components/VirtualList";
import type { PageProps } from "../../routes";
import {
  FULL_VIEW,
  buildWaterfall,
  clampView,
  collapsible,
  formatView,
  parseView,
  project,
  projectTime,
  revealing,
  rulerTicks,
  visibleRows,
  type SpanInput,
  type View,
  type Waterfall,
} from "../../lib/waterfall";
import "./traces.css";

interface SpanRow extends SpanInput {
  name: string;
  service: string;
  host: string;
  status: string;
  kind: string;
}
type WF = Waterfall<SpanRow>;

const ROW_HEIGHT = 26;
const INDENT = 14;
const MAX_INDENT_LEVELS = 24;
/** Where to look for a trace when the URL gives no range (a link from logs, a pasted id). */
const WIDE_RANGE = { from: "now-30d", to: "now" };
const SPAN_COLUMNS = "span_id, parent_span_id, name, service, host, timestamp, duration_ms, status, kind";

function parseSpans(res: OqlResult): SpanRow[] {
  const at = (name: string) => res.columns.findIndex((c) => c.name === name);
  const [id, parent, name, service, host, ts, dur, status, kind] = ["span_id", "parent_span_id", "name", "service", "host", "timestamp", "duration_ms", "status", "kind"].map(at);
  return res.rows.map((r) => ({
    id: String(r[id]),
    parentId: (r[parent] as string | null) || null,
    name: String(r[name] ?? ""),
    service: String(r[service] ?? ""),
    host: String(r[host] ?? ""),
    start: Date.parse(String(r[ts])),
    duration: Number(r[dur]) || 0,
    status: String(r[status] ?? "unset"),
    kind: String(r[kind] ?? ""),
  }));
}

interface Loaded {
  wf: WF;
  truncated: boolean;
}

async function loadTrace(id: string, urlFrom: string | null, urlTo: string | null, signal: AbortSignal): Promise<Loaded> {
  const query = `SELECT ${SPAN_COLUMNS} FROM spans WHERE trace_id = $id ORDER BY timestamp LIMIT 10000`;
  const run = (range: { from: string; to: string }) => oql(query, { ...range, params: { id }, signal });
  let res = await run(urlFrom ? { from: urlFrom, to: urlTo ?? "now" } : WIDE_RANGE);
  if (!res.rows.length && urlFrom) res = await run(WIDE_RANGE);
  return { wf: buildWaterfall(parseSpans(res)), truncated: res.truncated };
}

/** The logs' range: the trace plus an hour either side (logs of a request may come late or early). */
function logsRange(wf: WF) {
  return { from: iso(wf.start - 3600e3), to: iso(wf.end + 3600e3) };
}

/** Exact counts with grouping ("10,000"): the span total is not a place for "10k". */
const count = (n: number) => n.toLocaleString("en-US");
const relLabel = (ms: number) => (ms === 0 ? "0" : formatDuration(ms));

// ---- minimap ------------------------------------------------------------------------------

function Minimap({ wf, view, onView }: { wf: WF; view: View; onView: (v: View) => void }) {
  const box = useRef<HTMLDivElement>(null);
  const canvas = useRef<HTMLCanvasElement>(null);
  const [width, setWidth] = useState(0);
  const [drag, setDrag] = useState<{ a: number; b: number } | null>(null);
  const height = 56;
  useEffect(() => {
    const el = box.current!;
    const ro = new ResizeObserver(() => setWidth(el.clientWidth));
    ro.observe(el);
    setWidth(el.clientWidth);
    return () => ro.disconnect();
  }, []);
  useEffect(() => {
    const c = canvas.current;
    if (!c || !width) return;
    const dpr = window.devicePixelRatio || 1;
    c.width = Math.round(width * dpr);
    c.height = Math.round(height * dpr);
    const g = c.getContext("2d");
    if (!g) return;
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, width, height);
    const n = wf.nodes.length;
    const rowH = Math.max(1, Math.min(4, (height - 4) / Math.max(1, n)));
    let fill = "";
    for (let k = 0; k < n; k++) {
      const node = wf.nodes[k];
      const color = node.span.status === "error" ? "#dc2626" : colorFor(node.span.service);
      if (color !== fill) g.fillStyle = fill = color;
      g.fillRect(node.offset * width, 2 + (k / n) * (height - 4 - rowH), Math.max(1, node.width * width), rowH);
    }
  }, [wf, width, theme.value]);

  const frac = (e: PointerEvent) => {
    const r = box.current!.getBoundingClientRect();
    return Math.max(0, Math.min(1, (e.clientX - r.left) / r.width));
  };
  const sel = drag ? clampView(drag.a, drag.b) : null;
  return (
    <div
      ref={box}
      class="tv-minimap"
      role="img"
      aria-label="Trace minimap: drag across it to zoom the waterfall"
      onPointerDown={(e) => {
        if (e.button !== 0) return;
        (e.currentTarget as HTMLElement).setPointerCapture(e.pointerId);
        const f = frac(e);
        setDrag({ a: f, b: f });
      }}
      onPointerMove={(e) => drag && setDrag({ a: drag.a, b: frac(e) })}
      onPointerUp={(e) => {
        if (!drag) return;
        const b = frac(e);
        setDrag(null);
        if (Math.abs(b - drag.a) * (width || 1) >= 3) onView(clampView(drag.a, b));
      }}
      onPointerCancel={() => setDrag(null)}
    >
      <canvas ref={canvas} style={{ width: `${width}px`, height: `${height}px` }} />
      {(view.from > 0 || view.to < 1) && (
        <>
          <div class="tv-mm-shade" style={{ left: 0, width: `${view.from * 100}%` }} />
          <div class="tv-mm-shade" style={{ left: `${view.to * 100}%`, right: 0 }} />
          <div class="tv-mm-window" style={{ left: `${view.from * 100}%`, width: `${(view.to - view.from) * 100}%` }} />
        </>
      )}
      {sel && <div class="tv-mm-select" style={{ left: `${sel.from * 100}%`, width: `${(sel.to - sel.from) * 100}%` }} />}
    </div>
  );
}

// ---- rows -----------------------------------------------------------------------------------

interface RowCtx {
  wf: WF;
  view: View;
  collapsed: ReadonlySet<number>;
  selected: number;
  gridStyle: Record<string, string>;
  toggle: (k: number) => void;
  select: (k: number) => void;
}

function renderRow(k: number, c: RowCtx) {
  const node = c.wf.nodes[k];
  const s = node.span;
  const color = colorFor(s.service);
  const error = s.status === "error";
  const isCollapsed = c.collapsed.has(k);
  const bar = project(node.offset, node.width, c.view);
  const visible = bar.left < 1 && bar.left + bar.width > 0;
  const right = bar.left + bar.width;
  const indent = Math.min(node.depth, MAX_INDENT_LEVELS) * INDENT;
  return (
    <div class={`tv-row${k === c.selected ? " sel" : ""}`} onClick={() => c.select(k)}>
      <div class="tv-name" style={{ paddingLeft: `${indent + 4}px` }}>
        {node.children.length ? (
          <button
            type="button"
            class="tv-toggle"
            aria-expanded={!isCollapsed}
            aria-label={`${isCollapsed ? "Expand" : "Collapse"} ${s.name}`}
            onClick={(e) => {
              e.stopPropagation();
              c.toggle(k);
            }}
          >
            {isCollapsed ? "▸" : "▾"}
          </button>
        ) : (
          <span class="tv-toggle-space" />
        )}
        <span class="tv-chip" style={{ background: color }} title={s.service} />
        <button type="button" class="tv-op" aria-pressed={k === c.selected} title={`${s.service} · ${s.name}`}>
          {s.name}
        </button>
        {error && (
          <span class="tv-err" role="img" aria-label="error" title="status error">
            !
          </span>
        )}
        <span class="tv-svc">{s.service}</span>
        {node.orphan && (
          <span class="tv-hidden muted" title={s.parentId && c.wf.byId.has(s.parentId) ? "its parent chain loops back to it" : `parent span ${s.parentId} was not received`}>
            orphan
          </span>
        )}
        {isCollapsed && <span class="tv-hidden muted">+{node.descendants}</span>}
        {node.depth > MAX_INDENT_LEVELS && <span class="tv-hidden muted">depth {node.depth}</span>}
      </div>
      <div class="tv-track" style={c.gridStyle}>
        {visible && (
          <>
            <div class={`tv-bar${error ? " err" : ""}`} style={{ left: `${bar.left * 100}%`, width: `${bar.width * 100}%`, background: color }} />
            {node.segments.map(([a, b]) => {
              const seg = projectTime(c.wf, a, b, c.view);
              return <div class="tv-crit" style={{ left: `${seg.left * 100}%`, width: `${seg.width * 100}%` }} />;
            })}
            <span class="tv-dur" style={right < 0.86 ? { left: `calc(${right * 100}% + 4px)` } : { right: `calc(${(1 - Math.max(0, bar.left)) * 100}% + 4px)` }}>
              {formatDuration(node.end - node.start)}
            </span>
          </>
        )}
      </div>
    </div>
  );
}

/** Grid lines under the bars, as background layers (one per tick) shared by every row. */
function gridStyle(ticks: { frac: number }[]): Record<string, string> {
  if (!ticks.length) return {};
  return {
    backgroundImage: ticks.map(() => "linear-gradient(var(--grid), var(--grid))").join(", "),
    backgroundSize: "1px 100%",
    backgroundRepeat: "no-repeat",
    backgroundPosition: ticks.map((t) => `${(t.frac * 100).toFixed(3)}% 0`).join(", "),
  };
}

// ---- span details -------------------------------------------------------------------------

function parseList(text: unknown): Record<string, unknown>[] {
  if (Array.isArray(text)) return text as Record<string, unknown>[];
  if (typeof text !== "string" || !text.trim()) return [];
  try {
    const v = JSON.parse(text);
    return Array.isArray(v) ? v : [];
  } catch {
    return [];
  }
}

function KeyValues({ map, empty }: { map: unknown; empty: string }) {
  const entries = map && typeof map === "object" ? Object.entries(map as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)) : [];
  if (!entries.length) return <p class="muted tv-none">{empty}</p>;
  return (
    <dl class="kv">
      {entries.map(([k, v]) => (
        <>
          <dt>{k}</dt>
          <dd>{typeof v === "object" ? JSON.stringify(v) : String(v)}</dd>
        </>
      ))}
    </dl>
  );
}

interface LogRow {
  timestamp: string;
  level: string;
  service: string;
  host: string;
  body: string;
  span_id: string | null;
}

async function loadLogs(traceId: string, spanId: string | null, range: { from: string; to: string }, signal: AbortSignal) {
  const where = spanId ? "trace_id = $id AND span_id = $span" : "trace_id = $id";
  const res = await oql(`SELECT timestamp, level, service, host, body, span_id FROM logs WHERE ${where} ORDER BY timestamp LIMIT 1000`, {
    ...range,
    params: spanId ? { id: traceId, span: spanId } : { id: traceId },
    signal,
  });
  return { rows: records(res) as unknown as LogRow[], truncated: res.truncated };
}

function logsHref(traceId: string, spanId: string | null, range: { from: string; to: string }) {
  // The ids come from the URL: quote them as OQL strings so a stray quote stays text.
  const q = spanId ? `trace_id = ${quoteString(traceId)} AND span_id = ${quoteString(spanId)}` : `trace_id = ${quoteString(traceId)}`;
  return `/logs?q=${encodeURIComponent(q)}&from=${encodeURIComponent(range.from)}&to=${encodeURIComponent(range.to)}`;
}

function LogList({ rows, label, wf, onSpan }: { rows: LogRow[]; label: string; wf: WF; onSpan?: (k: number) => void }) {
  const height = Math.min(rows.length, 12) * ROW_HEIGHT + 2;
  return (
    <VirtualList
      label={label}
      count={rows.length}
      rowHeight={ROW_HEIGHT}
      height={height}
      class="tv-logs"
      renderRow={(i) => {
        const r = rows[i];
        const k = r.span_id ? wf.byId.get(r.span_id) : undefined;
        return (
          <div class="tv-log" title={r.body}>
            <span class="mono muted">{formatTimestamp(r.timestamp).slice(11)}</span>
            <span class="tv-level" style={{ color: LEVEL_COLORS[r.level] ?? "inherit" }}>
              {r.level}
            </span>
            <span class="tv-log-svc">{r.service}</span>
            {onSpan && (
              <span class="tv-log-span">
                {k !== undefined ? (
                  <button type="button" class="link" onClick={() => onSpan(k)}>
                    {wf.nodes[k].span.name}
                  </button>
                ) : (
                  <span class="muted">{r.span_id ? "other span" : "no span"}</span>
                )}
              </span>
            )}
            <span class="tv-log-body mono">{r.body}</span>
          </div>
        );
      }}
    />
  );
}

function SpanPanel({ traceId, wf, k, onClose }: { traceId: string; wf: WF; k: number; onClose: () => void }) {
  const node = wf.nodes[k];
  const s = node.span;
  const detail = useLoad(
    async (signal) => {
      const res = await oql("SELECT * FROM spans WHERE trace_id = $id AND span_id = $span LIMIT 1", {
        from: iso(node.start - 60e3),
        to: iso(node.end + 61e3),
        params: { id: traceId, span: s.id },
        signal,
      });
      return records(res)[0] ?? null;
    },
    [traceId, s.id],
  );
  const range = logsRange(wf);
  const logs = useLoad((signal) => loadLogs(traceId, s.id, range, signal), [traceId, s.id]);
  const d = detail.data;
  const events = parseList(d?.events);
  const links = parseList(d?.links);
  const parent = node.parent >= 0 ? wf.nodes[node.parent] : null;
  return (
    <aside class="card tv-panel" aria-label="Span details">
      <header class="tv-panel-head">
        <span class="tv-chip" style={{ background: colorFor(s.service) }} />
        <h2>{s.name}</h2>
        <button type="button" class="btn small" onClick={onClose}>
          Close
        </button>
      </header>
      <div class="tv-panel-tags">
        <Badge tone={toneOf(s.status)}>{s.status}</Badge>
        {s.kind && <Badge tone="muted">{s.kind}</Badge>}
        {node.critical && <Badge tone="info">critical path</Badge>}
      </div>
      {d?.status_message ? <div class={`tv-status ${s.status === "error" ? "bad" : ""}`}>{String(d.status_message)}</div> : null}
      <dl class="kv">
        <dt>Duration</dt>
        <dd>{formatDuration(node.end - node.start)}</dd>
        <dt>Start</dt>
        <dd>
          {formatTimestamp(node.start)} <span class="muted">(+{relLabel(node.start - wf.start)})</span>
        </dd>
        <dt>Service</dt>
        <dd>{s.service || "–"}</dd>
        <dt>Host</dt>
        <dd>{s.host || "–"}</dd>
        <dt>Span ID</dt>
        <dd>{s.id}</dd>
        <dt>Parent</dt>
        <dd>
          {parent ? (
            <button type="button" class="link" onClick={() => setParams({ span: parent.id }, { replace: true })}>
              {parent.span.name}
            </button>
          ) : s.parentId ? (
            <span>
              {s.parentId} <span class="muted">(not received)</span>
            </span>
          ) : (
            <span class="muted">none (root)</span>
          )}
        </dd>
        {d?.scope_name ? (
          <>
            <dt>Scope</dt>
            <dd>{String(d.scope_name)}</dd>
          </>
        ) : null}
        {d?.trace_state ? (
          <>
            <dt>Trace state</dt>
            <dd>{String(d.trace_state)}</dd>
          </>
        ) : null}
      </dl>
      <ErrorNote error={detail.error} />
      {detail.loading && !d ? (
        <Loading label="Loading span details" />
      ) : (
        <>
          <h3>Attributes</h3>
          <KeyValues map={d?.attributes} empty="No attributes" />
          <h3>Resource</h3>
          <KeyValues map={d?.resource} empty="No resource attributes" />
          <h3>Events</h3>
          {events.length ? (
            <ol class="tv-events">
              {events.map((e) => {
                const t = Number(e.time_unix_nano) / 1e6;
                return (
                  <li>
                    <div>
                      <strong>{String(e.name ?? "event")}</strong> {Number.isFinite(t) && <span class="muted">at +{relLabel(Math.max(0, t - node.start))}</span>}
                    </div>
                    <KeyValues map={e.attributes} empty="no attributes" />
                  </li>
                );
              })}
            </ol>
          ) : (
            <p class="muted tv-none">No events</p>
          )}
          <h3>Links</h3>
          {links.length ? (
            <ul class="tv-events">
              {links.map((l) => (
                <li>
                  <Link href={`/traces/${encodeURIComponent(String(l.trace_id))}?span=${encodeURIComponent(String(l.span_id))}`}>
                    trace {String(l.trace_id).slice(0, 16)} · span {String(l.span_id)}
                  </Link>
                  <KeyValues map={l.attributes} empty="no attributes" />
                </li>
              ))}
            </ul>
          ) : (
            <p class="muted tv-none">No links</p>
          )}
        </>
      )}
      <h3>Logs of this span</h3>
      <ErrorNote error={logs.error} />
      {logs.data ? (
        logs.data.rows.length ? (
          <LogList rows={logs.data.rows} label="Logs of this span" wf={wf} />
        ) : (
          <p class="muted tv-none">No logs carry this span's id</p>
        )
      ) : (
        <Loading label="Loading logs" />
      )}
      <p>
        <Link href={logsHref(traceId, s.id, range)}>Open this span's logs in Logs</Link>
      </p>
    </aside>
  );
}

// ---- page ---------------------------------------------------------------------------------

function TraceWaterfall({ traceId, data }: { traceId: string; data: Loaded }) {
  const { wf } = data;
  const q = location.value.query;
  const view = parseView(q.get("view"));
  const criticalOnly = q.get("critical") === "1";
  const selId = q.get("span");
  const selected = selId ? (wf.byId.get(selId) ?? -1) : -1;
  const [collapsed, setCollapsed] = useState<ReadonlySet<number>>(new Set());
  useEffect(() => setCollapsed(new Set()), [wf]);
  // A span chosen by URL (a link from logs) shows even inside a collapsed subtree.
  useEffect(() => {
    if (selected >= 0) setCollapsed((c) => revealing(wf, c, selected));
  }, [selected, wf]);
  const rows = useMemo(() => visibleRows(wf, collapsed, criticalOnly), [wf, collapsed, criticalOnly]);
  const selRow = useMemo(() => (selected >= 0 ? rows.indexOf(selected) : -1), [rows, selected]);
  const ticks = useMemo(() => rulerTicks(wf.duration, view, 8), [wf, view.from, view.to]);
  const grid = useMemo(() => gridStyle(ticks), [ticks]);
  const setView = (v: View) => setParams({ view: formatView(v) }, { replace: true });
  const select = (k: number) => setParams({ span: wf.nodes[k].id }, { replace: true });
  const ctx: RowCtx = {
    wf,
    view,
    collapsed,
    selected,
    gridStyle: grid,
    select,
    toggle: (k) =>
      setCollapsed((c) => {
        const next = new Set(c);
        if (next.has(k)) next.delete(k);
        else next.add(k);
        return next;
      }),
  };
  const zoomed = view.from > 0 || view.to < 1;
  const traceLogs = useLoad((signal) => loadLogs(traceId, null, logsRange(wf), signal), [traceId, wf]);
  const services = useMemo(() => {
    const m = new Map<string, number>();
    for (const n of wf.nodes) m.set(n.span.service, (m.get(n.span.service) ?? 0) + 1);
    return [...m.entries()].sort((a, b) => b[1] - a[1]);
  }, [wf]);
  const errors = useMemo(() => wf.nodes.filter((n) => n.span.status === "error").length, [wf]);
  const root = wf.nodes[wf.criticalRoot >= 0 ? wf.criticalRoot : 0];

  return (
    <div class="tv">
      <div class="page-head">
        <h1 class="tv-title">
          <span class="tv-chip big" style={{ background: colorFor(root.span.service) }} />
          {root.span.service && <span class="tv-title-svc">{root.span.service}</span>}
          {root.span.name}
        </h1>
        {errors > 0 && <Badge tone="bad">{errors === 1 ? "1 error" : `${errors} errors`}</Badge>}
        <div class="actions">
          <Link href="/traces" class="btn">
            Search traces
          </Link>
        </div>
      </div>
      <div class="tv-stats">
        <span>
          <span class="muted">Trace</span> <code data-copy={traceId}>{traceId}</code> <CopyButton text={traceId} label="Copy ID" />
        </span>
        <span>
          <span class="muted">Start</span> {formatTimestamp(wf.start)}
        </span>
        <span>
          <span class="muted">Duration</span> <strong>{formatDuration(wf.end - wf.start)}</strong>
        </span>
        <span>
          <span class="muted">Spans</span> {count(wf.nodes.length)}
        </span>
        <span>
          <span class="muted">Depth</span> {wf.maxDepth + 1}
        </span>
        <span class="tv-services" aria-label="Services">
          {services.slice(0, 8).map(([svc, n]) => (
            <span class="tv-service">
              <span class="tv-chip" style={{ background: colorFor(svc) }} />
              {svc || "unknown"} <span class="muted">{n}</span>
            </span>
          ))}
          {services.length > 8 && <span class="muted">+{services.length - 8} more</span>}
        </span>
      </div>
      {data.truncated && <div class="error-note">This trace has more than 10 000 spans; the first 10 000 by start time are shown.</div>}
      <div class={`tv-main${selected >= 0 ? " with-panel" : ""}`}>
        <section class="card tv-wf" aria-label="Waterfall">
          <div class="tv-toolbar">
            <label class="inline">
              <input type="checkbox" checked={criticalOnly} onChange={(e) => setParams({ critical: (e.currentTarget as HTMLInputElement).checked ? "1" : null }, { replace: true })} />
              Critical path only
            </label>
            <button type="button" class="btn small" onClick={() => setCollapsed(collapsible(wf))}>
              Collapse all
            </button>
            <button type="button" class="btn small" onClick={() => setCollapsed(new Set())}>
              Expand all
            </button>
            <button type="button" class="btn small" disabled={!zoomed} onClick={() => setView(FULL_VIEW)}>
              Reset zoom
            </button>
            <span class="muted tv-count" role="status">
              {count(rows.length)} of {count(wf.nodes.length)} spans shown
              {zoomed && ` · zoomed to ${relLabel(view.from * wf.duration)} – ${relLabel(view.to * wf.duration)}`}
            </span>
            <span class="tv-key muted">
              <span class="tv-key-crit" /> critical path ({wf.criticalCount})
            </span>
          </div>
          <Minimap wf={wf} view={view} onView={setView} />
          <div class="tv-head" aria-hidden="true">
            <div class="tv-name">Span · service</div>
            <div class="tv-ruler">
              {ticks.map((t) => (
                <span class="tv-tick" style={{ left: `${t.frac * 100}%` }}>
                  {/* A label this close to the end would be cut off or run into the previous one. */}
                  {t.frac < 0.93 ? relLabel(t.at) : ""}
                </span>
              ))}
            </div>
          </div>
          <VirtualList
            label="Spans"
            count={rows.length}
            rowHeight={ROW_HEIGHT}
            height={`min(${wf.nodes.length * ROW_HEIGHT + 2}px, max(320px, calc(100vh - 330px)))`} class="tv-rows" scrollTo={selRow >= 0 ? selRow : null} renderRow={(i) => renderRow(rows[i], ctx)} />
        </section>
        {selected >= 0 && <SpanPanel traceId={traceId} wf={wf} k={selected} onClose={() => setParams({ span: null }, { replace: true })} />}
      </div>
      <Card title="Logs of this trace" actions={<Link href={logsHref(traceId, null, logsRange(wf))}>Open in Logs</Link>} class="tv-trace-logs">
        <ErrorNote error={traceLogs.error} />
        {traceLogs.data ? (
          traceLogs.data.rows.length ? (
            <>
              <LogList rows={traceLogs.data.rows} label="Logs of this trace" wf={wf} onSpan={select} />
              {traceLogs.data.truncated && <p class="muted">The first 1 000 logs are shown.</p>}
            </>
          ) : (
            <Empty>No logs carry this trace's id (within an hour of the trace).</Empty>
          )
        ) : (
          <Loading label="Loading logs" />
        )}
      </Card>
    </div>
  );
}

export default function TraceView({ params }: PageProps) {
  const id = params.id;
  useTitle(`Trace ${id.slice(0, 16)}`);
  const q = location.value.query;
  const from = q.get("from");
  const to = q.get("to");
  const trace = useLoad((signal) => loadTrace(id, from, to, signal), [id, from, to]);
  if (trace.error) return <ErrorNote error={trace.error} />;
  if (!trace.data) return <Loading label="Loading trace" />;
  if (!trace.data.wf.nodes.length)
    return (
      <div>
        <h1>Trace not found</h1>
        <Empty>
          No spans of trace <code>{id}</code> in the last 30 days{from ? " or in the linked range" : ""}. It may be older than the org's retention, or the id may be mistyped.{" "}
          <Link href="/traces">Search traces</Link>
        </Empty>
      </div>
    );
  return <TraceWaterfall traceId={id} data={trace.data} />;
}
