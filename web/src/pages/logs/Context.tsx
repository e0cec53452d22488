// Context around one log line (`/logs/context?t=&service=&host=&key=&n=`): the N lines
// before and after it from the same service and host, oldest first, the line highlighted.
// Any other line re-centres the view on itself, as its own URL.
import { useEffect, useRef } from "preact/hooks";
import { Empty, ErrorNote, Loading, SelectField } from "../../components/ui";
import { oql, withQuery } from "../../lib/api";
import { LEVEL_COLORS, colorFor } from "../../lib/colors";
import { formatTimestamp } from "../../lib/format";
import { useLoad, useTitle } from "../../lib/hooks";
import { CONTEXT_SIZES, contextHref, contextQueries, contextWindow, parseContext, toRows } from "../../lib/logs";
import { addFilter } from "../../lib/oqlFilter";
import { Link, location, setParams } from "../../lib/router";
import "./logs.css";

export default function Context() {
  useTitle("Log context");
  const target = parseContext(location.value.query);
  const current = useRef<HTMLLIElement>(null);
  const load = useLoad(
    async (signal) => {
      if (!target) return null;
      const qs = contextQueries(target);
      const [before, after] = await Promise.all([oql(qs.before.query, { ...qs.before, signal }), oql(qs.after.query, { ...qs.after, signal })]);
      return contextWindow(toRows(before), toRows(after), target);
    },
    [location.value.search],
  );
  useEffect(() => {
    current.current?.scrollIntoView({ block: "center" });
  }, [load.data]);

  if (!target) {
    return (
      <div class="narrow">
        <h1>Log context</h1>
        <Empty>
          This link names no line. Open a line on the <Link href="/logs">Logs</Link> page and choose “Show context”.
        </Empty>
      </div>
    );
  }

  const t = Date.parse(target.t);
  let logsQ = addFilter("", "service", target.service, "in");
  logsQ = addFilter(logsQ, "host", target.host, "in");
  const logsHref = withQuery("/logs", { q: logsQ, from: new Date(t - 15 * 60e3).toISOString(), to: new Date(t + 15 * 60e3).toISOString() });
  const data = load.data;

  return (
    <div class="logs-context">
      <div class="page-head">
        <h1>Log context</h1>
        <span class="ctx-of">
          <span class="badge info">service {target.service ?? "(empty)"}</span>
          <span class="badge info">host {target.host ?? "(empty)"}</span>
          <span class="muted">around {formatTimestamp(target.t)}</span>
        </span>
        <div class="actions">
          <div class="ctx-size">
            <SelectField
              label="Lines each side"
              value={String(target.n)}
              options={[...new Set([...CONTEXT_SIZES, target.n])].sort((a, b) => a - b).map(String)}
              onChange={(e) => setParams({ n: (e.currentTarget as HTMLSelectElement).value }, { replace: true })}
            />
          </div>
          <Link href={logsHref} class="btn">
            Open in Logs
          </Link>
        </div>
      </div>
      <ErrorNote error={load.error} />
      {load.loading && !data && <Loading label="Loading context" />}
      {data && data.index < 0 && <p class="muted">The line itself is no longer stored; these are the lines around its time.</p>}
      {data && data.rows.length === 0 && <Empty>No lines of this service and host around that time.</Empty>}
      {data && data.index === 0 && <p class="muted logs-small ctx-edge">No earlier lines from this service and host within a day.</p>}
      {data && data.rows.length > 0 && (
        <ol class="ctx-lines" aria-label="Context lines">
          {data.rows.map((row, i) => {
            const level = row.level ?? "unknown";
            const color = LEVEL_COLORS[level] ?? colorFor(level);
            const isCurrent = i === data.index;
            return (
              <li class={isCurrent ? "current" : ""} aria-current={isCurrent ? "true" : undefined} ref={isCurrent ? current : undefined} key={row.key}>
                <span class="log-time">{formatTimestamp(row.timestamp)}</span>{" "}
                <span class="log-level" style={{ color, borderColor: color }}>
                  {level}
                </span>{" "}
                <span class="ctx-where">{row.service ?? ""}</span> <span class="ctx-where">{row.host ?? ""}</span> <span class="ctx-body">{row.body ?? ""}</span>
                {!isCurrent && (
                  <Link href={contextHref(row, target.n)} class="ctx-centre" aria-label={`Centre on the line at ${formatTimestamp(row.timestamp)}`} title="Show the context of this line">
                    ⇕
                  </Link>
                )}
              </li>
            );
          })}
        </ol>
      )}
      {data && data.index >= 0 && data.rows.length - 1 - data.index < target.n && <p class="muted logs-small ctx-edge">No later lines from this service and host within a day.</p>}
    </div>
  );
}
