// The hosts page (`/hosts`): every host that sent metrics in the range with its latest CPU,
// memory, disk and load and when it was last seen; sortable (`?sort=&dir=` in the URL).
import { ErrorNote, Loading } from "../../components/ui";
import { formatLoad, formatPct, meterTone, sortHosts, type HostMetric, type HostSortKey } from "../../lib/hosts";
import { formatRelative, formatTimestamp } from "../../lib/format";
import { useLoad, useTitle } from "../../lib/hooks";
import { Link, location, setParams } from "../../lib/router";
import { tick, urlRange } from "../../lib/time";
import { AgentHint, METRIC_LABEL, SortHeader, hostHref, loadLatestHosts } from "./common";

const PERCENT_METRICS: HostMetric[] = ["cpu_usage_pct", "mem_used_pct", "disk_used_pct"];
const SORT_KEYS = new Set<string>(["host", "last_seen", "cpu_usage_pct", "mem_used_pct", "disk_used_pct", "load_1m", "load_5m", "load_15m"]);

export default function Hosts() {
  useTitle("Hosts");
  const range = urlRange.value;
  const q = location.value.query;
  const sortParam = q.get("sort") ?? "host";
  const sort = (SORT_KEYS.has(sortParam) ? sortParam : "host") as HostSortKey;
  const dir = q.get("dir") === "desc" ? "desc" : q.get("dir") === "asc" ? "asc" : sort === "host" ? "asc" : "desc";
  const { data, error, loading } = useLoad((signal) => loadLatestHosts(range, signal), [range.from, range.to, tick.value]);

  const onSort = (key: HostSortKey) => {
    // A first click on a figure shows the busiest first; names start A to Z.
    const next = key === sort ? (dir === "asc" ? "desc" : "asc") : key === "host" ? "asc" : "desc";
    setParams({ sort: key === "host" ? null : key, dir: next === (key === "host" ? "asc" : "desc") ? null : next }, { replace: true });
  };

  const loads = data ? (["load_1m", "load_5m", "load_15m"] as HostMetric[]).filter((m) => data.metrics.includes(m)) : [];
  const percents = data ? PERCENT_METRICS.filter((m) => data.metrics.includes(m)) : [];
  const hosts = data ? sortHosts(data.hosts, sort, dir) : [];

  return (
    <div class="hosts-page">
      <div class="page-head">
        <h1>Hosts</h1>
        {data && data.hosts.length > 0 && <span class="muted">{data.hosts.length === 1 ? "1 host" : `${data.hosts.length} hosts`} · latest values in the range</span>}
      </div>
      <ErrorNote error={error} />
      {loading && !data && <Loading label="Loading hosts" />}
      {data && data.hosts.length === 0 && (
        <section class="card">
          <AgentHint>
            <h2>{data.noTable ? "No host metrics yet" : "No host sent metrics in this range"}</h2>
            {!data.noTable && <p class="muted">Hosts appear here when they report within the selected time range; try a longer range.</p>}
          </AgentHint>
        </section>
      )}
      {data && data.hosts.length > 0 && (
        <section class="card hosts-table-card">
          <table class="table hosts-table">
            <thead>
              <tr>
                <SortHeader label="Host" active={sort === "host"} dir={dir} onSort={() => onSort("host")} />
                {percents.map((m) => (
                  <SortHeader label={METRIC_LABEL[m]} num active={sort === m} dir={dir} onSort={() => onSort(m)} />
                ))}
                {loads.map((m) => (
                  <SortHeader label={METRIC_LABEL[m]} num active={sort === m} dir={dir} onSort={() => onSort(m)} />
                ))}
                <SortHeader label="Last seen" active={sort === "last_seen"} dir={dir} onSort={() => onSort("last_seen")} />
              </tr>
            </thead>
            <tbody>
              {hosts.map((h) => (
                <tr key={h.host}>
                  <td>
                    <Link href={hostHref(h.host)} class="hosts-name">
                      {h.host || "(no host.name)"}
                    </Link>
                  </td>
                  {percents.map((m) => (
                    <td class="num">
                      <span class="hosts-cell">
                        <span class="hosts-bar" aria-hidden="true">
                          <span class={`hx-meter-fill ${meterTone(h.values[m])}`} style={{ width: `${Math.max(0, Math.min(100, h.values[m] ?? 0))}%` }} />
                        </span>
                        {formatPct(h.values[m])}
                      </span>
                    </td>
                  ))}
                  {loads.map((m) => (
                    <td class="num">{formatLoad(h.values[m])}</td>
                  ))}
                  <td title={formatTimestamp(h.lastSeen)} class="muted">
                    {formatRelative(h.lastSeen)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {data.truncated && <p class="muted">Some rows were left out (the answer was capped); values may be older than shown.</p>}
        </section>
      )}
    </div>
  );
}
