// The OQL query page (`/query?q=`): the editor, Run (or Ctrl/Cmd+Enter), the answer as a
// table and, when it is a time series, a chart; the scan's stats; save and add to a
// dashboard for editors; the saved queries to open. The URL holds the query that ran,
// its parameters (`p.<name>`), the time range and the open saved query.
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { get, oql, type OqlResult } from "../../lib/api";
import { formatBytes, formatNumber } from "../../lib/format";
import { useLoad, useTitle } from "../../lib/hooks";
import { findTimeRange, paramsOf } from "../../lib/oqlLanguage";
import { Link, location, navigate, setParams } from "../../lib/router";
import { canEdit } from "../../lib/session";
import { rangeLabel, resolveRange, setRange, tick, urlRange } from "../../lib/time";
import { Chart } from "../../components/Chart";
import { Badge, Card, Empty, Field, Loading } from "../../components/ui";
import { OqlEditor } from "../../components/editor/OqlEditor";
import { AddToDashboard } from "./AddToDashboard";
import { parseParamValue, suggestKind } from "./model";
import { ResultTable } from "./ResultTable";
import { chartOf } from "./resultChart";
import { SavedList, SaveForm, type SavedQuery } from "./SavedQueries";
import "./query.css";

const EXAMPLES: { title: string; query: string }[] = [
  { title: "Log levels", query: "SELECT level, count(*) FROM logs GROUP BY level ORDER BY count(*) DESC" },
  { title: "Errors per service over time", query: "SELECT bucket() AS t, service, count(*) FROM logs WHERE level = 'error' GROUP BY t, service ORDER BY t" },
  { title: "Slowest operations", query: "SELECT service, name, count(*), p50(duration_ms), p95(duration_ms), p99(duration_ms) FROM spans GROUP BY service, name ORDER BY p95(duration_ms) DESC LIMIT 20" },
  { title: "Tables of this org", query: "SHOW TABLES" },
];

function Stats({ result, ms }: { result: OqlResult; ms?: number }) {
  const s = result.stats ?? {};
  return (
    <div class="q-stats" aria-label="Query stats">
      <span>
        <strong>{formatNumber(result.rows.length)}</strong> {result.rows.length === 1 ? "row" : "rows"}
      </span>
      {s.rows_scanned !== undefined && <span>{formatNumber(s.rows_scanned)} rows scanned</span>}
      {s.bytes_scanned !== undefined && <span>{formatBytes(s.bytes_scanned)} read</span>}
      {s.elapsed_ms !== undefined && <span title={ms !== undefined ? `${ms} ms with the round trip` : undefined}>{s.elapsed_ms} ms</span>}
      {typeof s.bucket === "string" && <span>bucket {s.bucket}</span>}
      {result.truncated && <Badge tone="warn">truncated at {formatNumber(result.rows.length)} rows</Badge>}
    </div>
  );
}

export default function QueryPage() {
  useTitle("Query");
  const query = location.value.query;
  const q = query.get("q") ?? "";
  const savedId = query.get("saved");
  const range = urlRange.value;
  const [draft, setDraft] = useState(q);
  const draftRef = useRef(draft);
  draftRef.current = draft;
  const [again, setAgain] = useState(0);
  const [panel, setPanel] = useState<"save" | "dashboard" | null>(null);
  const [savedVersion, setSavedVersion] = useState(0);

  // The URL's query leads: Back, or opening a saved query, puts it in the editor.
  useEffect(() => setDraft(q), [q]);

  // Parameters: fields for each `$name` of the text being edited, values kept in the URL.
  const draftParams = paramsOf(draft);
  const [paramText, setParamText] = useState<Record<string, string>>({});
  const urlParam = (name: string) => query.get(`p.${name}`) ?? "";
  const runParams = paramsOf(q);
  const bound = Object.fromEntries(runParams.filter((n) => query.has(`p.${n}`)).map((n) => [n, parseParamValue(urlParam(n))]));
  const boundKey = JSON.stringify(bound);

  const started = useRef(0);
  const result = useLoad(
    async (signal) => {
      if (!q.trim()) return null;
      started.current = performance.now();
      const answer = await oql(q, { from: range.from, to: range.to, params: runParams.length ? bound : undefined, signal });
      return { answer, ms: Math.round(performance.now() - started.current) };
    },
    [q, range.from, range.to, boundKey, tick.value, again],
  );

  const run = () => {
    const text = draftRef.current;
    const next = new URLSearchParams(location.value.search);
    if (text.trim()) next.set("q", text);
    else next.delete("q");
    // Parameters the text no longer uses leave the URL.
    for (const key of [...next.keys()]) if (key.startsWith("p.")) next.delete(key);
    for (const name of paramsOf(text)) {
      const value = paramText[name] ?? urlParam(name);
      if (value !== "") next.set(`p.${name}`, value);
    }
    const search = next.toString();
    // Running what already ran runs it again.
    if (search === new URLSearchParams(location.value.search).toString()) setAgain((n) => n + 1);
    else navigate(`/query${search ? `?${search}` : ""}`);
  };

  const saved = useLoad((signal) => get<{ saved_queries: SavedQuery[] }>("/api/v1/saved-queries?limit=200", { signal }), [savedVersion]);
  const openSaved = saved.data?.saved_queries.find((s) => s.id === savedId) ?? null;

  const answer = result.error ? undefined : result.data?.answer;
  const chart = useMemo(() => (answer ? chartOf(answer) : null), [answer]);
  const ownRange = findTimeRange(q);
  const xRange = useMemo((): [number, number] | undefined => {
    if (ownRange || !chart?.bucketed) return undefined;
    try {
      const r = resolveRange(range);
      return [r.from / 1000, r.to / 1000];
    } catch {
      return undefined;
    }
  }, [ownRange?.text, chart, range.from, range.to]);

  return (
    <div class="query-page">
      <div class="page-head">
        <h1>Query</h1>
        {openSaved && <span class="muted">{openSaved.name}</span>}
        {canEdit.value && (
          <div class="actions">
            <button type="button" class={`btn ${panel === "save" ? "active" : ""}`} aria-expanded={panel === "save"} disabled={!draft.trim()} onClick={() => setPanel(panel === "save" ? null : "save")}>
              Save
            </button>
            <button type="button" class={`btn ${panel === "dashboard" ? "active" : ""}`} aria-expanded={panel === "dashboard"} disabled={!draft.trim()} onClick={() => setPanel(panel === "dashboard" ? null : "dashboard")}>
              Add to dashboard
            </button>
          </div>
        )}
      </div>
      <div class="q-layout">
        <div class="q-main">
          <Card class="q-editor-card">
            <OqlEditor
              label="Query"
              value={draft}
              onChange={setDraft}
              onRun={run}
              errors={result.error}
              rows={4}
              autoFocus={!q}
              placeholder="SELECT level, count(*) FROM logs GROUP BY level"
            />
            {draftParams.length > 0 && (
              <div class="row q-params">
                {draftParams.map((name) => (
                  <Field
                    label={`$${name}`}
                    hint={'text, a number, or JSON such as ["a","b"]'}
                    value={paramText[name] ?? urlParam(name)}
                    onInput={(e) => setParamText({ ...paramText, [name]: e.currentTarget.value })}
                    onKeyDown={(e) => e.key === "Enter" && run()}
                  />
                ))}
              </div>
            )}
            <div class="q-toolbar">
              <button type="button" class="btn primary" onClick={run} disabled={!draft.trim()}>
                Run
              </button>
              <span class="muted q-kbd">
                <kbd>Ctrl</kbd>/<kbd>⌘</kbd>+<kbd>Enter</kbd>
              </span>
              {draft !== q && q && <span class="muted">edited since it ran</span>}
              <span class="q-range muted">
                {ownRange ? (
                  <>
                    Range from the query: <code>{ownRange.text}</code>
                  </>
                ) : (
                  <>Range: {rangeLabel(range)}</>
                )}
              </span>
            </div>
          </Card>

          {panel === "save" && (
            <SaveForm
              key={openSaved?.id ?? "new"}
              query={draft}
              open={openSaved}
              onClose={() => setPanel(null)}
              onSaved={(s) => {
                setPanel(null);
                setSavedVersion((n) => n + 1);
                setParams({ saved: s.id, q: s.query }, { replace: true });
              }}
            />
          )}
          {panel === "dashboard" && <AddToDashboard query={draft} suggested={suggestKind(draft, draft === q ? answer : undefined, draft === q && !!chart)} onClose={() => setPanel(null)} />}

          {!q.trim() && (
            <Card title="Start with an example">
              <ul class="q-examples">
                {EXAMPLES.map((ex) => (
                  <li>
                    <button type="button" class="link" onClick={() => navigate(`/query?${new URLSearchParams({ ...Object.fromEntries(query), q: ex.query })}`)}>
                      {ex.title}
                    </button>
                    <code>{ex.query}</code>
                  </li>
                ))}
              </ul>
              <p class="muted">
                Write OQL above: <code>SELECT … FROM logs | spans | metrics | &lt;metric namespace&gt;</code>. The <Link href="/schema">schema</Link> lists tables and columns.
              </p>
            </Card>
          )}

          {q.trim() && result.loading && !answer && <Loading label="Running" />}
          {answer && (
            <>
              <Stats result={answer} ms={result.data?.ms} />
              {chart && (
                <Card title="Chart" class="q-chart">
                  <Chart
                    data={chart.data}
                    series={chart.series}
                    label="Query result chart"
                    height={240}
                    xRange={xRange}
                    onZoom={ownRange ? undefined : (from, to) => setRange({ from, to })}
                  />
                  {chart.dropped > 0 && (
                    <p class="muted q-note">
                      Showing the {chart.series.length} largest series; {chart.dropped} more are in the table.
                    </p>
                  )}
                </Card>
              )}
              <Card class="q-results">
                {answer.rows.length === 0 ? <Empty>No rows. Widen the time range or loosen the WHERE clause.</Empty> : <ResultTable result={answer} />}
              </Card>
            </>
          )}
        </div>
        <aside class="q-side">
          <SavedList list={saved.data?.saved_queries} loading={saved.loading} error={saved.error} activeId={savedId} onChanged={() => setSavedVersion((n) => n + 1)} />
        </aside>
      </div>
    </div>
  );
}
