// A rule's live side: its instances now (`/alerts/{id}/instances`) and its transitions over
// a range (`/alerts/{id}/history`), as tabs kept in the URL (`?tab=`, `?history=`).
import { get, withQuery } from "../../lib/api";
import { type AlertInstance, type AlertRule, type Transition, labelText, stateLabel, stateTone } from "../../lib/alertRule";
import { type Silence, formatMatchers, matchersForLabels, silencing } from "../../lib/alertSilence";
import type { Loaded } from "../../lib/hooks";
import { useLoad } from "../../lib/hooks";
import { Link, param, setParams } from "../../lib/router";
import { canEdit } from "../../lib/session";
import { formatNumber, formatRelative, formatTimestamp } from "../../lib/format";
import { durationMs } from "../../lib/time";
import { Badge, Card, Empty, ErrorNote, Loading, SelectField } from "../../components/ui";
import { hrefWith } from "./FormBits";

const HISTORY_RANGES = ["1h", "6h", "24h", "7d", "30d"];

/** The link that opens the silence form filled in for one instance. */
export function silenceHref(ruleId: string, labels: Record<string, string>): string {
  return withQuery("/alerts", { tab: "silences", silence: "new", rule: ruleId, matchers: formatMatchers(matchersForLabels(labels)) });
}

export function Labels({ labels, hide = {} }: { labels: Record<string, string>; hide?: Record<string, string> }) {
  const shown = Object.entries(labels).filter(([k, v]) => k !== "alertname" && hide[k] !== v);
  if (!shown.length) return <span class="muted">(no labels)</span>;
  return (
    <span class="labels">
      {shown.map(([k, v]) => (
        <span class="label-chip">
          {k}={v}
        </span>
      ))}
    </span>
  );
}

export function RuleActivity({ rule, instances }: { rule: AlertRule; instances: Loaded<{ instances: AlertInstance[] }> }) {
  const tab = param("tab") === "history" ? "history" : "instances";
  return (
    <Card class="section-gap">
      <nav class="tabs" aria-label="Rule activity">
        <Link href={hrefWith({ tab: null })} class={tab === "instances" ? "active" : ""} aria-current={tab === "instances" ? "page" : undefined}>
          Instances{instances.data ? ` (${instances.data.instances.length})` : ""}
        </Link>
        <Link href={hrefWith({ tab: "history" })} class={tab === "history" ? "active" : ""} aria-current={tab === "history" ? "page" : undefined}>
          History
        </Link>
      </nav>
      {tab === "instances" ? <Instances rule={rule} instances={instances} /> : <History rule={rule} />}
    </Card>
  );
}

function Instances({ rule, instances }: { rule: AlertRule; instances: Loaded<{ instances: AlertInstance[] }> }) {
  const silences = useLoad((signal) => get<{ silences: Silence[] }>("/api/v1/silences?limit=1000", { signal }), [rule.id]);
  if (instances.error) return <ErrorNote error={instances.error} />;
  if (!instances.data) return <Loading label="Loading instances" />;
  const list = instances.data.instances;
  if (!list.length) return <Empty>{rule.last_eval_at ? "No instances: the last evaluation found no series (or every one resolved)." : "No instances yet: the rule has not been evaluated. Its first evaluation is at the next interval."}</Empty>;
  return (
    <table class="table" aria-label="Instances">
      <thead>
        <tr>
          <th>Series</th>
          <th>State</th>
          <th class="num">Value</th>
          <th>Since</th>
          <th>Last evaluation</th>
          <th>Notifications</th>
        </tr>
      </thead>
      <tbody>
        {list.map((i) => {
          const silence = silencing(i, silences.data?.silences ?? []);
          return (
          <tr>
            <td>
              <Labels labels={i.labels} hide={rule.labels} />
            </td>
            <td>
              <Badge tone={stateTone(i.state)}>{stateLabel(i.state)}</Badge>
            </td>
            <td class="num">{formatNumber(i.value)}</td>
            <td title={formatTimestamp(i.since)}>{formatRelative(i.since)}</td>
            <td title={i.last_eval_at ? formatTimestamp(i.last_eval_at) : undefined}>{i.last_eval_at ? formatRelative(i.last_eval_at) : "—"}</td>
            <td>
              {silence ? (
                <span title={`${silence.comment ? `${silence.comment}; ` : ""}until ${formatTimestamp(silence.ends_at).slice(0, 16)}`}>
                  <Badge tone="muted">silenced</Badge> <span class="note">ends {formatRelative(silence.ends_at)}</span>
                </span>
              ) : canEdit.value && (i.state === "firing" || i.state === "pending") ? (
                <Link href={silenceHref(rule.id, i.labels)} class="btn small" aria-label={`Silence ${labelText(i.labels, rule.labels, rule.name)}`}>
                  Silence
                </Link>
              ) : (
                <span class="muted">—</span>
              )}
            </td>
          </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function History({ rule }: { rule: AlertRule }) {
  const asked = param("history");
  const range = asked && HISTORY_RANGES.includes(asked) ? asked : "24h";
  const history = useLoad(
    (signal) => {
      const to = Date.now();
      return get<{ history: Transition[] }>(withQuery(`/api/v1/alerts/${rule.id}/history`, { from: to - durationMs(range)!, to }), { signal });
    },
    [rule.id, range, rule.updated_at],
  );
  return (
    <>
      <div class="filters">
        <SelectField label="History range" value={range} options={HISTORY_RANGES.map((r) => ({ value: r, label: `Last ${r}` }))} onChange={(e) => setParams({ history: (e.target as HTMLSelectElement).value }, { replace: true })} />
      </div>
      <ErrorNote error={history.error} />
      {!history.data && !history.error && <Loading label="Loading history" />}
      {history.data && !history.data.history.length && <Empty>No state changes in the last {range}.</Empty>}
      {history.data && history.data.history.length > 0 && (
        <table class="table" aria-label="History">
          <thead>
            <tr>
              <th>At</th>
              <th>Series</th>
              <th>From</th>
              <th>To</th>
              <th class="num">Value</th>
            </tr>
          </thead>
          <tbody>
            {history.data.history.map((t) => (
              <tr>
                <td title={formatRelative(t.at)}>{formatTimestamp(t.at).slice(0, 19)}</td>
                <td>
                  <Labels labels={t.labels} hide={rule.labels} />
                </td>
                <td>
                  <Badge tone={stateTone(t.from)}>{stateLabel(t.from)}</Badge>
                </td>
                <td>
                  <Badge tone={stateTone(t.to)}>{stateLabel(t.to)}</Badge>
                </td>
                <td class="num">{formatNumber(t.value)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
