// The logs explorer (`/logs?q=&from=&to=`): the OQL filter in a visible Query field (the one
// source of truth: every click edits it), a volume histogram by level with brush-to-zoom,
// newest rows first in a virtual list, details of the selected line (`sel=` in the URL), the
// field sidebar with top values, and a live tail that polls for newer lines.
import { useEffect, useId, useLayoutEffect, useMemo, useRef, useState } from "preact/hooks";
import { Chart } from "../../components/Chart";
import { VirtualList } from "../../components/VirtualList";
import { Card, Empty, Field, Loading, SelectField } from "../../components/ui";
import { oql } from "../../lib/api";
import { LEVEL_COLORS, colorFor } from "../../lib/colors";
import { formatTimestamp, stepSeconds } from "../../lib/format";
import { useLoad, useTitle } from "../../lib/hooks";
import { ROW_LIMITS, frequentKeys, histogramData, histogramQuery, mergeNewer, parseLimit, rowsQuery, tailQuery, toRows, type LogRow } from "../../lib/logs";
import { addFilter, removeField, type FieldRef, type FilterMode, type FilterValue } from "../../lib/oqlFilter";
import { location, setParams } from "../../lib/router";
import { resolveRange, setRange, tick, urlRange } from "../../lib/time";
import { FieldSidebar, type FieldDef } from "./FieldSidebar";
import { LogDetails } from "./LogDetails";
import { QueryError } from "./QueryError";
import "./logs.css";

const ROW_HEIGHT = 26;
const LIVE_EVERY_MS = 2000;
const LIVE_COUNTS_EVERY_MS = 10_000;
const BASE_FIELDS: FieldDef[] = [
  { field: "level", label: "level" },
  { field: "service", label: "service" },
  { field: "host", label: "host" },
];
const count = (n: number) => n.toLocaleString("en-US");

function LogLine({ row, selected, onSelect }: { row: LogRow; selected: boolean; onSelect: (key: string) => void }) {
  const level = row.level ?? "unknown";
  const color = LEVEL_COLORS[level] ?? colorFor(level);
  return (
    <button type="button" class={`log-row${selected ? " selected" : ""}`} aria-pressed={selected} onClick={() => onSelect(row.key)}>
      {/* The spaces between cells keep the button's accessible name readable. */}
      <span class="log-time">{formatTimestamp(row.timestamp)}</span>{" "}
      <span class="log-level" style={{ color, borderColor: color }}>
        {level}
      </span>{" "}
      <span class="log-service">{row.service ?? ""}</span> <span class="log-host">{row.host ?? ""}</span> <span class="log-body">{row.body ?? ""}</span>
    </button>
  );
}

function Histogram({ q, from, to, t, failed }: { q: string; from: string; to: string; t: number; failed: boolean }) {
  const load = useLoad(
    async (signal) => {
      const range = resolveRange({ from, to });
      const r = await oql(histogramQuery(q), { from, to, signal });
      const step = typeof r.stats.bucket === "string" ? stepSeconds(r.stats.bucket) : null;
      return { ...histogramData(r.rows, step, range.from, range.to), range, bucket: r.stats.bucket as string | undefined };
    },
    [q, from, to, t],
  );
  const h = load.data;
  const series = useMemo(() => (h ? h.levels.map((l) => ({ label: l, kind: "bars" as const, color: LEVEL_COLORS[l] ?? colorFor(l) })) : []), [h]);
  const xRange = useMemo<[number, number] | undefined>(() => (h ? [h.range.from / 1000, h.range.to / 1000] : undefined), [h]);
  const summary = h ? (
    <span class="muted">
      <strong class="logs-total">{count(h.total)}</strong> matching {h.total === 1 ? "line" : "lines"}{h.bucket ? ` · ${h.bucket} buckets` : ""} · drag to zoom
    </span>
  ) : null;
  if (failed) return null;
  return (
    <Card title="Volume by level" actions={summary} class="logs-volume">
      {!h && load.loading && <Loading label="Counting lines" />}
      {!h && load.error && <p class="muted">Could not draw the volume: {load.error.message}</p>}
      {h && h.total === 0 && <p class="muted logs-novol">No lines in this range.</p>}
      {h && h.total > 0 && <Chart data={h.data} series={series} stacked height={120} label="Log volume by level" xRange={xRange} onZoom={(a, b) => setRange({ from: a, to: b })} />}
    </Card>
  );
}

export default function Logs() {
  useTitle("Logs");
  const query = location.value.query;
  const q = query.get("q") ?? "";
  const limit = parseLimit(query.get("limit"));
  const sel = query.get("sel");
  const live = query.get("live") === "1";
  const { from, to } = urlRange.value;
  const t = tick.value;
  const errorId = useId();

  const [draft, setDraft] = useState(q);
  useEffect(() => setDraft(q), [q]);

  const base = useLoad(
    async (signal) => {
      const started = performance.now();
      const r = await oql(rowsQuery(q, limit), { from, to, signal });
      return { rows: toRows(r), truncated: r.truncated, ms: Math.round(performance.now() - started), at: new Date().toISOString() };
    },
    [q, limit, from, to, t],
  );

  // Shown rows: the loaded ones plus whatever the live tail put on top. `added` is how many
  // the last merge added, to keep the scroll position steady.
  const [shown, setShown] = useState<{ rows: LogRow[]; added: number; tailed: number }>({ rows: [], added: 0, tailed: 0 });
  useEffect(() => {
    if (base.data) setShown({ rows: base.data.rows, added: 0, tailed: 0 });
  }, [base.data]);
  const rows = shown.rows;
  const rowsRef = useRef(rows);
  rowsRef.current = rows;

  // Live tail: poll for lines at or after the newest shown, every 2 s, unless paused.
  const [paused, setPaused] = useState(false);
  const [tailError, setTailError] = useState<Error | null>(null);
  useEffect(() => {
    if (!live || paused || !base.data || base.error) return;
    let inFlight = false;
    let stopped = false;
    const abort = new AbortController();
    const poll = async () => {
      if (inFlight) return;
      inFlight = true;
      try {
        const since = rowsRef.current[0]?.timestamp ?? base.data!.at;
        const r = await oql(tailQuery(q, limit), { from: since, to: "now", params: { since }, signal: abort.signal });
        if (stopped) return;
        setTailError(null);
        setShown((s) => {
          const m = mergeNewer(s.rows, toRows(r), limit);
          return m.added ? { rows: m.rows, added: m.added, tailed: s.tailed + m.added } : s;
        });
      } catch (e) {
        if ((e as Error).name !== "AbortError" && !stopped) setTailError(e as Error);
      } finally {
        inFlight = false;
      }
    };
    const timer = setInterval(poll, LIVE_EVERY_MS);
    void poll();
    return () => {
      stopped = true;
      clearInterval(timer);
      abort.abort();
    };
  }, [live, paused, base.data, q, limit]);

  // While live, the volume and the field counts catch up every 10 s too.
  const [liveTick, setLiveTick] = useState(0);
  useEffect(() => {
    if (!live || paused) return;
    const timer = setInterval(() => setLiveTick((n) => n + 1), LIVE_COUNTS_EVERY_MS);
    return () => clearInterval(timer);
  }, [live, paused]);

  // New lines go on top; a reader scrolled down keeps their place.
  const listBox = useRef<HTMLDivElement>(null);
  useLayoutEffect(() => {
    if (!shown.added) return;
    const el = listBox.current?.querySelector<HTMLElement>("[role=list]");
    if (el && el.scrollTop > 0) el.scrollTop += shown.added * ROW_HEIGHT;
  }, [shown]);

  const fields = useMemo(() => {
    const sample = base.data?.rows ?? [];
    const keys = frequentKeys(sample, "attributes", 4);
    return [...BASE_FIELDS, ...keys.map((k) => ({ field: `attributes.${k}`, label: k }))];
  }, [base.data]);

  const selIndex = useMemo(() => (sel ? rows.findIndex((r) => r.key === sel) : -1), [rows, sel]);
  const selected = selIndex >= 0 ? rows[selIndex] : null;

  const applyQuery = (text: string) => {
    if (text === q) base.reload();
    else setParams({ q: text.trim() ? text : null, sel: null });
  };
  const onFilter = (field: FieldRef, value: FilterValue, mode: FilterMode) => applyQuery(addFilter(q, field, value, mode));
  const onClear = (field: FieldRef) => applyQuery(removeField(q, field));
  const select = (key: string) => setParams({ sel: key === sel ? null : key }, { replace: true });

  const failed = !!base.error;
  const loadedCount = base.data?.rows.length ?? 0;

  return (
    <div class="logs-page">
      <form
        class="logs-bar"
        onSubmit={(e) => {
          e.preventDefault();
          applyQuery(draft);
        }}
      >
        <h1 class="logs-title">Logs</h1>
        <div class="logs-q">
          <Field
            label="Query"
            class="mono"
            value={draft}
            onInput={(e) => setDraft((e.currentTarget as HTMLInputElement).value)}
            placeholder="service = 'checkout' AND level = 'error'   (empty: every line)"
            spellcheck={false}
            autocomplete="off"
            aria-invalid={failed}
            aria-describedby={failed ? errorId : undefined}
          />
        </div>
        <button type="submit" class="btn primary">
          Run
        </button>
        <div class="logs-limit">
          <SelectField label="Rows" value={String(limit)} options={ROW_LIMITS.map((n) => ({ value: String(n), label: count(n) }))} onChange={(e) => setParams({ limit: (e.currentTarget as HTMLSelectElement).value })} />
        </div>
        <div class="logs-live" role="group" aria-label="Live tail">
          <button type="button" class={`btn${live ? " primary" : ""}`} aria-pressed={live} onClick={() => { setPaused(false); setParams({ live: live ? null : "1" }, { replace: true }); }}>
            {live && !paused && <span class="logs-pulse" aria-hidden="true" />}Live
          </button>
          {live && (
            <button type="button" class="btn" onClick={() => setPaused(!paused)}>
              {paused ? "Resume" : "Pause"}
            </button>
          )}
        </div>
      </form>
      <QueryError error={base.error} q={q} id={errorId} />
      {tailError && !failed && <div class="error-note" role="alert">Live tail: {tailError.message}</div>}

      <Histogram q={q} from={from} to={to} t={t + liveTick} failed={failed} />

      <div class={`logs-main${selected ? " with-details" : ""}`}>
        <FieldSidebar fields={fields} q={q} from={from} to={to} tick={t + liveTick} onFilter={onFilter} onClear={onClear} />
        <section class="logs-rows" aria-label="Log lines">
          <div class="logs-rows-head">
            <span role="status" aria-live="polite" class="muted">
              {failed ? "" : base.loading && !base.data ? "Loading lines…" : base.data ? `${count(rows.length)} ${rows.length === 1 ? "line" : "lines"} shown, newest first${loadedCount >= limit || base.data.truncated ? ` (limit ${count(limit)})` : ""}${shown.tailed ? ` · ${count(shown.tailed)} new from live tail` : ""}` : ""}
              {live && (paused ? " · live tail paused" : " · live")}
              {base.loading && base.data ? " · loading…" : ""}
            </span>
            {base.data && !failed && <span class="muted logs-small">{base.data.ms} ms</span>}
          </div>
          <div class={`log-row log-head${failed ? " logs-hidden" : ""}`} aria-hidden="true">
            <span class="log-time">Time</span>
            <span class="log-level">Level</span>
            <span class="log-service">Service</span>
            <span class="log-host">Host</span>
            <span class="log-body">Message</span>
          </div>
          <div ref={listBox}>
            {failed ? (
              <Empty>No lines while the query fails: fix it above and press Enter.</Empty>
            ) : base.data && rows.length === 0 ? (
              <Empty>No lines match in this range. Widen the time range or loosen the query.</Empty>
            ) : (
              <VirtualList
                count={rows.length}
                rowHeight={ROW_HEIGHT}
                height="max(360px, calc(100vh - 400px))"
                label="Log lines"
                overscan={15}
                scrollTo={selIndex >= 0 ? selIndex : null}
                class="logs-list"
                renderRow={(i) => <LogLine row={rows[i]} selected={rows[i].key === sel} onSelect={select} />}
              />
            )}
          </div>
        </section>
        {selected && <LogDetails row={selected} onFilter={onFilter} onClose={() => setParams({ sel: null }, { replace: true })} />}
      </div>
    </div>
  );
}
