// /traces: search traces by service, span name, status and duration over the URL's range,
// a duration-over-time scatter (errors red) and a table of matching traces.
import { useEffect, useMemo, useState } from "preact/hooks";
import { oql, records, type OqlResult } from "../../lib/api";
import { colorFor } from "../../lib/colors";
import { formatDuration, formatNumber, formatTimestamp } from "../../lib/format";
import { useLoad, useTitle } from "../../lib/hooks";
import { Link, location, navigate, setParams } from "../../lib/router";
import { setRange, tick, urlRange } from "../../lib/time";
import { Chart } from "../../components/Chart";
import { Badge, Card, Empty, ErrorNote, Field, Loading, SelectField } from "../../components/ui";
import {
  CANDIDATES,
  SORTS,
  candidatesQuery,
  durationBounds,
  envelopeQuery,
  errorsQuery,
  filtersFrom,
  rootsQuery,
  scatterData,
  spanCondition,
  summarize,
  traceLinkRange,
  type TraceFilters,
  type TraceSummary,
} from "./search";
import "./traces.css";

const PAGE = 100;
const OK_COLOR = "#3b6fd8";
const ERROR_COLOR = "#dc2626";

interface Found {
  traces: TraceSummary[];
  /** Some answer was capped: only the newest traces were looked at. */
  capped: boolean;
}

/** Runs the search: candidates (when span conditions are set), their extents and error
 * counts, then the duration bounds on the client (a trace's duration needs its extent). */
async function search(f: TraceFilters, range: { from: string; to: string }, signal: AbortSignal): Promise<Found> {
  const bounds = durationBounds(f);
  const { where, params } = spanCondition(f);
  const req = { ...range, signal };
  let ids: string[] | null = null;
  let capped = false;
  if (where) {
    const cand = await oql(candidatesQuery(where), { ...req, params });
    ids = cand.rows.map((r) => String(r[0]));
    capped = cand.truncated || ids.length >= CANDIDATES;
    if (!ids.length) return { traces: [], capped: false };
  }
  const byIds = ids !== null;
  const p = byIds ? { ids } : undefined;
  const [env, errs] = await Promise.all([oql(envelopeQuery(byIds), { ...req, params: p }), oql(errorsQuery(byIds), { ...req, params: p })]);
  capped ||= env.truncated || env.rows.length >= 10000;
  return { traces: summarize(records(env), records(errs), bounds, f.sort), capped };
}

/** Root span names and services for the traces on screen. */
async function roots(ids: string[], range: { from: string; to: string }, signal: AbortSignal): Promise<Map<string, { name: string; service: string }>> {
  if (!ids.length) return new Map();
  const res: OqlResult = await oql(rootsQuery, { ...range, params: { ids }, signal });
  return new Map(records(res).map((r) => [String(r.trace_id), { name: String(r.name), service: String(r.service ?? "") }]));
}

function traceHref(t: TraceSummary) {
  const r = traceLinkRange(t.start, t.durationMs);
  return `/traces/${encodeURIComponent(t.traceId)}?from=${encodeURIComponent(r.from)}&to=${encodeURIComponent(r.to)}`;
}

function SearchForm({ filters, services, names }: { filters: TraceFilters; services: string[]; names: string[] }) {
  const [draft, setDraft] = useState(filters);
  // Back/forward or a link changes the URL: the form follows it.
  useEffect(() => setDraft(filters), [JSON.stringify(filters)]);
  const set = (k: keyof TraceFilters) => (e: Event) => setDraft({ ...draft, [k]: (e.currentTarget as HTMLInputElement).value });
  let problem: string | null = null;
  try {
    durationBounds(draft);
  } catch (e) {
    problem = (e as Error).message;
  }
  const submit = (e: Event) => {
    e.preventDefault();
    if (problem) return;
    setParams({ service: draft.service, name: draft.name.trim(), status: draft.status, min: draft.min.trim(), max: draft.max.trim(), sort: draft.sort === "newest" ? null : draft.sort });
  };
  const clear = () => setParams({ service: null, name: null, status: null, min: null, max: null, sort: null });
  return (
    <form class="card ts-form" onSubmit={submit} aria-label="Trace search">
      <div class="row">
        <SelectField label="Service" value={draft.service} onChange={set("service")} options={[{ value: "", label: "Any service" }, ...services]} />
        <Field label="Span name" value={draft.name} onInput={set("name")} placeholder="contains, e.g. checkout" list="ts-span-names" autocomplete="off" />
        <SelectField
          label="Status"
          value={draft.status}
          onChange={set("status")}
          options={[
            { value: "", label: "Any status" },
            { value: "error", label: "error" },
            { value: "ok", label: "ok" },
            { value: "unset", label: "unset" },
          ]}
        />
        <Field label="Min duration" value={draft.min} onInput={set("min")} placeholder="e.g. 100ms" class="ts-dur" />
        <Field label="Max duration" value={draft.max} onInput={set("max")} placeholder="e.g. 2s" class="ts-dur" />
        <SelectField label="Sort" value={draft.sort} onChange={set("sort")} options={SORTS} />
        <div class="field ts-buttons">
          <button type="submit" class="btn primary" disabled={!!problem}>
            Search
          </button>
          <button type="button" class="btn" onClick={clear}>
            Clear
          </button>
        </div>
      </div>
      <datalist id="ts-span-names">
        {names.map((n) => (
          <option value={n} />
        ))}
      </datalist>
      {problem && <ErrorNote error={problem} />}
      <p class="muted ts-help">Service, span name and status find traces with a matching span; the duration bounds apply to the whole trace.</p>
    </form>
  );
}

export default function TraceSearch() {
  useTitle("Traces");
  const q = location.value.query;
  const filters = filtersFrom(q);
  const range = urlRange.value;
  const key = JSON.stringify([filters, range, tick.value]);
  const [shown, setShown] = useState(PAGE);
  useEffect(() => setShown(PAGE), [key]);

  const facets = useLoad(
    async (signal) => {
      const [svc, names] = await Promise.all([
        oql("SELECT service, count(*) AS n FROM spans GROUP BY service ORDER BY n DESC LIMIT 200", { ...range, signal }),
        oql(`SELECT name, count(*) AS n FROM spans${filters.service ? " WHERE service = $service" : ""} GROUP BY name ORDER BY n DESC LIMIT 300`, {
          ...range,
          signal,
          params: filters.service ? { service: filters.service } : undefined,
        }),
      ]);
      return { services: svc.rows.map((r) => String(r[0] ?? "")).filter(Boolean), names: names.rows.map((r) => String(r[0] ?? "")) };
    },
    [range.from, range.to, filters.service, tick.value],
  );
  const found = useLoad((signal) => search(filters, range, signal), [key]);
  const traces = found.data?.traces ?? [];
  const page = traces.slice(0, shown);
  const rootInfo = useLoad((signal) => roots(page.map((t) => t.traceId), range, signal), [key, shown, found.data]);
  const scatter = useMemo(() => scatterData(traces), [found.data]);
  const services = facets.data?.services ?? [];
  const serviceOptions = filters.service && !services.includes(filters.service) ? [filters.service, ...services] : services;

  const withErrors = traces.filter((t) => t.errors).length;
  const sortedDur = useMemo(() => traces.map((t) => t.durationMs).sort((a, b) => a - b), [found.data]);
  const pct = (p: number) => (sortedDur.length ? sortedDur[Math.min(sortedDur.length - 1, Math.floor(p * sortedDur.length))] : null);
  const longest = sortedDur.length ? sortedDur[sortedDur.length - 1] : 0;

  return (
    <div class="ts">
      <div class="page-head">
        <h1>Traces</h1>
        {found.data && (
          <span class="muted">
            {formatNumber(traces.length)} traces{withErrors ? `, ${withErrors} with errors` : ""}
            {sortedDur.length ? ` · p50 ${formatDuration(pct(0.5))} · p95 ${formatDuration(pct(0.95))}` : ""}
          </span>
        )}
      </div>
      <SearchForm filters={filters} services={serviceOptions} names={facets.data?.names ?? []} />
      <ErrorNote error={found.error} />
      <Card title="Duration over time" actions={<span class="muted ts-legend-note">Drag to zoom the range · click a dot to open its trace</span>}>
        {found.loading && !found.data ? (
          <Loading label="Searching traces" />
        ) : traces.length ? (
          <Chart
            label="Trace durations over time"
            data={scatter.data}
            series={[
              { label: "ok", color: OK_COLOR, kind: "points", format: formatDuration },
              { label: "error", color: ERROR_COLOR, kind: "points", format: formatDuration },
            ]}
            yFormat={(v) => (v === 0 ? "0" : formatDuration(v))}
            height={220}
            onZoom={(from, to) => setRange({ from, to })}
            onPick={(i) => scatter.order[i] && navigate(traceHref(scatter.order[i]))}
          />
        ) : (
          <Empty>No traces match in this time range. Widen the range with the time picker or clear some filters.</Empty>
        )}
      </Card>
      {found.data?.capped && <p class="muted">Only the newest traces were looked at; narrow the time range to see older ones.</p>}
      {traces.length > 0 && (
        <Card title={`Traces (${formatNumber(traces.length)})`}>
          <table class="table ts-table" aria-label="Matching traces">
            <thead>
              <tr>
                <th>Trace</th>
                <th>Start time</th>
                <th class="num">Duration</th>
                <th class="num">Spans</th>
                <th class="num">Errors</th>
              </tr>
            </thead>
            <tbody>
              {page.map((t) => {
                const root = rootInfo.data?.get(t.traceId);
                return (
                  <tr key={t.traceId}>
                    <td class="ts-trace">
                      <Link href={traceHref(t)} class="ts-link">
                        {root ? root.name : <span class="muted">{rootInfo.loading ? t.traceId.slice(0, 16) : "root span not received"}</span>}
                      </Link>
                      <div class="ts-sub">
                        {root?.service && (
                          <span class="ts-svc">
                            <i style={{ background: colorFor(root.service) }} />
                            {root.service}
                          </span>
                        )}
                        <code class="muted">{t.traceId.slice(0, 16)}</code>
                      </div>
                    </td>
                    <td class="mono">{formatTimestamp(t.start)}</td>
                    <td class="num">
                      <div class="ts-dur-cell">
                        <span class="ts-dur-track">
                          <span class="ts-dur-bar" style={{ width: `${Math.max(2, (t.durationMs / (longest || 1)) * 100)}%`, background: t.errors ? ERROR_COLOR : OK_COLOR }} />
                        </span>
                        <span>{formatDuration(t.durationMs)}</span>
                      </div>
                    </td>
                    <td class="num">{formatNumber(t.spans)}</td>
                    <td class="num">{t.errors ? <Badge tone="bad">{formatNumber(t.errors)}</Badge> : <span class="muted">0</span>}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          {traces.length > shown && (
            <div class="ts-more">
              <button type="button" class="btn" onClick={() => setShown(shown + PAGE)}>
                Show {Math.min(PAGE, traces.length - shown)} more
              </button>
              <span class="muted">
                {shown} of {formatNumber(traces.length)} shown
              </span>
            </div>
          )}
        </Card>
      )}
    </div>
  );
}
