// The rule editor's backtest: `POST /api/v1/alerts/preview` over a past range, re-run
// (debounced) whenever the draft changes, drawn as the query's value over time with the
// threshold, and under it a strip per series of its state at every tick.
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from "preact/hooks";
import { ApiError, post } from "../../lib/api";
import type { RuleBody } from "../../lib/alertRule";
import { labelText, stateLabel, stateTone } from "../../lib/alertRule";
import { MAX_PREVIEW_TICKS, type Preview, chartData, stripLayout, summary, tickCount, timeline } from "../../lib/alertTimeline";
import { durationMs } from "../../lib/time";
import { formatNumber, formatTimestamp } from "../../lib/format";
import { param, setParams } from "../../lib/router";
import { Chart, type ChartSeries, type Marker } from "../../components/Chart";
import { Badge, Card, ErrorNote, SelectField } from "../../components/ui";

const RANGES = ["1h", "3h", "6h", "12h", "24h", "3d", "7d"];
const DEBOUNCE_MS = 700;
const MAX_SERIES = 8;

/** Ranges whose ticks at `intervalMs` the server will replay. */
function rangesFor(intervalMs: number | null): string[] {
  if (!intervalMs) return RANGES;
  return RANGES.filter((r) => tickCount(durationMs(r)!, intervalMs) <= MAX_PREVIEW_TICKS);
}

const hhmm = (ms: number) => formatTimestamp(ms).slice(11, 16);
/** A tick state in the strip's words (the legend calls `normal` ok). */
const tickLabel = (s: string) => (s === "normal" ? "ok" : stateLabel(s));
/** Distinct colours by rank (hashing names can give two series one colour); red is the threshold's. */
const SERIES_COLORS = ["#3b6fd8", "#16a34a", "#9333ea", "#0891b2", "#db2777", "#65a30d", "#ea580c", "#4f46e5"];

/** `nudge`: bumped by the editor (Ctrl/Cmd+Enter in the query) to run at once. */
export function PreviewPanel({ body, blocked, onFieldError, nudge = 0 }: { body: RuleBody | null; blocked?: string; onFieldError: (error: unknown | null) => string | null; nudge?: number }) {
  const intervalMs = body ? durationMs(body.interval) : null;
  const choices = rangesFor(intervalMs);
  const asked = param("range");
  const range = asked && choices.includes(asked) ? asked : choices.includes("6h") ? "6h" : choices[choices.length - 1] ?? "1h";
  const [runs, setRuns] = useState(0);
  // `atField`: the form shows the error next to this field, so the card only points there.
  const [state, setState] = useState<{ answer?: Preview; for?: RuleBody; error?: unknown; atField?: string | null; running: boolean; waiting?: boolean }>({ running: false });
  const json = body ? JSON.stringify(body) : "";
  const latest = useRef(onFieldError);
  latest.current = onFieldError;
  const forced = useRef(false);
  const lastNudge = useRef(nudge);
  if (nudge !== lastNudge.current) {
    lastNudge.current = nudge;
    forced.current = true;
  }

  useEffect(() => {
    if (!body || !choices.length) return;
    const abort = new AbortController();
    const rule = body;
    const run = async () => {
      setState((s) => ({ ...s, running: true, waiting: false }));
      // One preview at a time per org: a 429 preview_running means our previous request
      // (or a teammate's) is still on the server; wait the second it asks for and retry.
      for (let attempt = 0; ; attempt++) {
        try {
          const answer = await post<Preview>("/api/v1/alerts/preview", { rule, from: `now-${range}`, to: "now" }, { signal: abort.signal });
          setState({ answer, for: rule, running: false });
          latest.current(null);
          return;
        } catch (e) {
          if (abort.signal.aborted) return;
          if (e instanceof ApiError && e.code === "preview_running" && attempt < 30) {
            setState((s) => ({ ...s, running: true, waiting: true }));
            const secs = typeof e.detail.retry_after_secs === "number" ? e.detail.retry_after_secs : 1;
            await new Promise((r) => setTimeout(r, Math.min(5, Math.max(0.2, secs)) * 1000));
            if (abort.signal.aborted) return;
            continue;
          }
          const atField = latest.current(e);
          setState((s) => ({ ...s, error: e, atField, running: false }));
          return;
        }
      }
    };
    const wait = forced.current ? 0 : DEBOUNCE_MS;
    forced.current = false;
    const timer = setTimeout(() => void run(), wait);
    return () => {
      clearTimeout(timer);
      abort.abort();
    };
  }, [json, range, runs, nudge]);

  const shown = state.answer && state.for ? state : null;
  const rule = shown?.for;
  const tl = useMemo(
    () => (shown?.answer && rule ? timeline(shown.answer, { intervalMs: durationMs(rule.interval) ?? 60_000, ruleLabels: rule.labels, ruleName: rule.name }) : null),
    [shown?.answer],
  );
  const stale = !!shown && json !== JSON.stringify(shown.for);

  return (
    <Card
      title="Backtest preview"
      actions={
        <div class="preview-head">
          <SelectField label="Preview range" value={range} options={choices.map((r) => ({ value: r, label: `Last ${r}` }))} onChange={(e) => setParams({ range: (e.target as HTMLSelectElement).value }, { replace: true })} />
          <button
            type="button"
            class="btn"
            disabled={!body}
            onClick={() => {
              forced.current = true;
              setRuns((n) => n + 1);
            }}
          >
            Preview
          </button>
        </div>
      }
    >
      <p class="note">What this draft would have done over the last {range}: nothing is stored and nothing is sent. It re-runs as you edit.</p>
      {!body && <p class="note">{blocked ?? "Fix the fields marked in the form to preview."}</p>}
      {body && !choices.length && <p class="note">The interval is too short to preview even an hour (at most {MAX_PREVIEW_TICKS} ticks).</p>}
      {state.error != null && !state.running && (state.atField ? <p class="field-error">The preview could not run: see the error at {state.atField.replace("condition.", "")} in the form.</p> : <ErrorNote error={state.error} />)}
      <div role="status" aria-live="polite" class="preview-summary">
        {state.running ? (state.waiting ? "Waiting for another preview of this organization to finish…" : "Running the preview…") : state.error != null ? (tl ? `Last good preview: ${summary(tl)}` : "") : tl ? summary(tl) + (stale ? " (edited since: re-running)" : "") : body ? "Waiting to run…" : ""}
      </div>
      {tl && rule && <PreviewChart tl={tl} rule={rule} />}
      {tl && tl.notifications.length > 0 && <Notifications tl={tl} rule={rule!} />}
      {shown?.answer?.method && <p class="note">Replayed {shown.answer.method === "bucketed" ? "from one bucketed query over the range" : "by running the query at every tick"}.</p>}
    </Card>
  );
}

function PreviewChart({ tl, rule }: { tl: NonNullable<ReturnType<typeof timeline>>; rule: RuleBody }) {
  const warning = rule.condition.warning;
  // Memoised: the chart rebuilds whenever its data array changes identity.
  const chart = useMemo(() => {
    const { data, names } = chartData(tl, rule.condition.threshold, MAX_SERIES);
    const series: ChartSeries[] = names.map((n, i) => (n === "threshold" ? { label: "threshold", color: "#dc2626" } : { label: n, color: SERIES_COLORS[i % SERIES_COLORS.length] }));
    if (warning == null || !tl.times.length) return { data, series };
    return { data: [...data, tl.times.map(() => warning)], series: [...series, { label: "warning", color: "#d97706" }] };
  }, [tl, rule.condition.threshold, warning]);
  const markers = useMemo<Marker[]>(
    () =>
      tl.notifications.map((n) => ({
        time: Date.parse(n.at),
        kind: n.status === "resolved" ? ("alert-resolved" as const) : ("alert-firing" as const),
        title: `${hhmm(Date.parse(n.at))} ${n.type}: ${n.alerts.map((a) => labelText(a.labels, rule.labels, rule.name)).join("; ")}`,
      })),
    [tl],
  );
  const from = tl.times[0] ?? 0;
  const to = tl.end;
  const wrap = useRef<HTMLDivElement>(null);
  const [plot, setPlot] = useState<{ left: number; width: number } | null>(null);
  // Line the strip up with the chart's plotting area (right of the y axis).
  useLayoutEffect(() => {
    const el = wrap.current;
    if (!el) return;
    const measure = () => {
      const over = el.querySelector(".u-over");
      if (!over) return;
      const a = el.getBoundingClientRect();
      const b = over.getBoundingClientRect();
      setPlot((p) => (p && Math.abs(p.left - (b.left - a.left)) < 0.5 && Math.abs(p.width - b.width) < 0.5 ? p : { left: b.left - a.left, width: b.width }));
    };
    const frame = requestAnimationFrame(measure);
    const ro = new ResizeObserver(() => requestAnimationFrame(measure));
    ro.observe(el);
    return () => {
      cancelAnimationFrame(frame);
      ro.disconnect();
    };
  }, [tl]);
  const rows = [{ key: "rule", name: `${rule.name || "rule"} (worst of all series)`, segments: tl.rule.segments, cls: "rule" }, ...tl.instances.slice(0, MAX_SERIES).map((i) => ({ key: i.fingerprint, name: i.name, segments: i.segments, cls: "" }))];
  return (
    <div ref={wrap}>
      <Chart data={chart.data} series={chart.series} label="Preview: the query's value over time, with the threshold" markers={markers} xRange={[from / 1000, to / 1000]} height={200} />
      <div class="timeline" role="list" aria-label="State per tick" style={plot ? { marginLeft: `${plot.left}px`, width: `${plot.width}px` } : undefined}>
        {rows.map((row) => (
          <div class={`tl-row ${row.cls}`} role="listitem" key={row.key}>
            <div class="tl-name" title={row.name}>
              {row.name}
            </div>
            <div class="tl-bar">
              {stripLayout(row.segments, from, to).map(({ state, left, width, seg }) => (
                <div
                  class={`tl-seg ${state}`}
                  style={{ left: `${left * 100}%`, width: `${width * 100}%` }}
                  title={`${tickLabel(state)} ${hhmm(seg.from)} → ${hhmm(seg.to)} (${seg.ticks} ${seg.ticks === 1 ? "tick" : "ticks"})`}
                  aria-label={`${row.name}: ${tickLabel(state)} from ${hhmm(seg.from)} to ${hhmm(seg.to)}`}
                  role="img"
                />
              ))}
            </div>
          </div>
        ))}
        {tl.instances.length > MAX_SERIES && <p class="note">{tl.instances.length - MAX_SERIES} more series not drawn (the worst are shown first).</p>}
        {!tl.instances.length && <p class="note">The query answered no rows in any tick of the range.</p>}
        <div class="tl-legend" aria-hidden="true">
          {(["normal", "pending", "firing", "no_data", "error"] as const).map((s) => (
            <span>
              <i class={s} />
              {tickLabel(s)}
            </span>
          ))}
          <span>
            <i class="none" />
            not in the answer
          </span>
        </div>
      </div>
    </div>
  );
}

function Notifications({ tl, rule }: { tl: NonNullable<ReturnType<typeof timeline>>; rule: RuleBody }) {
  return (
    <>
      <h3>Notifications it would have sent</h3>
      <table class="table" aria-label="Preview notifications">
        <thead>
          <tr>
            <th>At</th>
            <th>Type</th>
            <th>Series</th>
            <th class="num">Value</th>
          </tr>
        </thead>
        <tbody>
          {tl.notifications.slice(0, 50).map((n) => (
            <tr>
              <td>{formatTimestamp(n.at).slice(0, 16)}</td>
              <td>
                <Badge tone={stateTone(n.status === "resolved" ? "resolved" : n.type.replace("alert.", ""))}>{n.type.replace("alert.", "")}</Badge>
              </td>
              <td>{n.alerts.map((a) => labelText(a.labels, rule.labels, rule.name)).join("; ")}</td>
              <td class="num">{n.alerts.map((a) => formatNumber(a.values?.value ?? null)).join(", ")}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {tl.notifications.length > 50 && <p class="note">and {tl.notifications.length - 50} more.</p>}
    </>
  );
}
