// `/alerts`: what fires now on top (`/api/v1/alert-instances?state=firing`), then tabs
// (`?tab=`) for the rules with their states (filter `?state=`, search `?q=`) and the
// silences. "New alert rule" for editors.
import { useEffect, useState } from "preact/hooks";
import { get, patch } from "../../lib/api";
import { type AlertInstance, type AlertRule, RULE_STATES, type RuleState, conditionText, labelText, ruleState, stateLabel, stateTone } from "../../lib/alertRule";
import { useLoad, useTitle } from "../../lib/hooks";
import { Link, location, param, setParams } from "../../lib/router";
import { type Silence, silencing } from "../../lib/alertSilence";
import { canEdit } from "../../lib/session";
import { formatNumber, formatRelative, formatTimestamp } from "../../lib/format";
import { tick } from "../../lib/time";
import { Badge, Card, Empty, ErrorNote, Field, Loading, SelectField } from "../../components/ui";
import { hrefWith } from "./FormBits";
import { Labels, silenceHref } from "./RuleActivity";
import { Silences } from "./Silences";
import "./alerts.css";

/** The list refreshes itself this often, so states move without a reload. */
const POLL_MS = 30_000;

function usePoll(reload: () => void) {
  useEffect(() => {
    const t = setInterval(reload, POLL_MS);
    return () => clearInterval(t);
  }, []);
}

export default function AlertList() {
  useTitle("Alerts");
  const tab = param("tab") === "silences" ? "silences" : "rules";
  const firing = useLoad((signal) => get<{ alert_instances: AlertInstance[] }>("/api/v1/alert-instances?state=firing", { signal }), [tick.value]);
  // Silences decide which firing instances are held back; the tab's edits change them.
  const silences = useLoad((signal) => get<{ silences: Silence[] }>("/api/v1/silences?limit=1000", { signal }), [tick.value, location.value.search]);
  usePoll(() => {
    firing.reload();
    silences.reload();
  });
  return (
    <div>
      <div class="page-head">
        <h1>Alerts</h1>
        <div class="actions">
          {canEdit.value && tab === "rules" && (
            <Link href="/alerts/new" class="btn primary">
              New alert rule
            </Link>
          )}
          {canEdit.value && tab === "silences" && (
            <Link href={hrefWith({ silence: "new" })} class="btn primary">
              New silence
            </Link>
          )}
        </div>
      </div>
      <Firing firing={firing} silences={silences.data?.silences ?? []} />
      <nav class="tabs section-gap" aria-label="Alert views">
        <Link href={hrefWith({ tab: null, silence: null, rule: null, matchers: null, show: null })} class={tab === "rules" ? "active" : ""} aria-current={tab === "rules" ? "page" : undefined}>
          Rules
        </Link>
        <Link href={hrefWith({ tab: "silences", state: null, q: null })} class={tab === "silences" ? "active" : ""} aria-current={tab === "silences" ? "page" : undefined}>
          Silences
        </Link>
      </nav>
      {tab === "rules" ? <Rules /> : <Silences />}
    </div>
  );
}

function Firing({ firing, silences }: { firing: ReturnType<typeof useLoad<{ alert_instances: AlertInstance[] }>>; silences: Silence[] }) {
  const list = firing.data?.alert_instances ?? [];
  return (
    <Card title={`Firing now${firing.data ? ` (${list.length})` : ""}`} class={`firing-card${firing.data && !list.length ? " quiet" : ""}`}>
      <ErrorNote error={firing.error} />
      {!firing.data && !firing.error && <Loading label="Loading firing alerts" />}
      {firing.data && !list.length && <p class="note">Nothing is firing.</p>}
      {list.length > 0 && (
        <table class="table" aria-label="Firing alerts">
          <thead>
            <tr>
              <th>Rule</th>
              <th>Series</th>
              <th class="num">Value</th>
              <th>Since</th>
              <th>Notifications</th>
            </tr>
          </thead>
          <tbody>
            {list.map((i) => {
              const silence = silencing(i, silences);
              return (
              <tr>
                <td>
                  <Link href={`/alerts/${i.rule_id}`}>{i.rule_name}</Link>
                </td>
                <td>
                  <Labels labels={i.labels} />
                </td>
                <td class="num">{formatNumber(i.value)}</td>
                <td title={formatTimestamp(i.since)}>{formatRelative(i.since)}</td>
                <td>
                  {silence ? (
                    <span title={`${silence.comment ? `${silence.comment}; ` : ""}until ${formatTimestamp(silence.ends_at).slice(0, 16)}`}>
                      <Badge tone="muted">silenced</Badge> <span class="note">ends {formatRelative(silence.ends_at)}</span>
                    </span>
                  ) : canEdit.value ? (
                    <Link href={silenceHref(i.rule_id, i.labels)} class="btn small" aria-label={`Silence ${i.rule_name}: ${labelText(i.labels, {}, "")}`}>
                      Silence
                    </Link>
                  ) : (
                    <span class="muted">sent</span>
                  )}
                </td>
              </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </Card>
  );
}

interface Row {
  rule: AlertRule;
  state: RuleState;
  counts: Record<string, number>;
}

function Rules() {
  const rules = useLoad((signal) => get<{ alerts: AlertRule[] }>("/api/v1/alerts?limit=1000", { signal }), [tick.value]);
  const instances = useLoad((signal) => get<{ alert_instances: AlertInstance[] }>("/api/v1/alert-instances?limit=10000", { signal }), [tick.value]);
  usePoll(() => {
    rules.reload();
    instances.reload();
  });
  const wanted = param("state") ?? "";
  const q = (param("q") ?? "").toLowerCase();
  if (rules.error) return <ErrorNote error={rules.error} />;
  if (!rules.data) return <Loading label="Loading alert rules" />;
  const byRule = new Map<string, AlertInstance[]>();
  for (const i of instances.data?.alert_instances ?? []) byRule.set(i.rule_id, [...(byRule.get(i.rule_id) ?? []), i]);
  const rows: Row[] = rules.data.alerts.map((rule) => {
    const mine = byRule.get(rule.id) ?? [];
    const counts: Record<string, number> = {};
    for (const i of mine) counts[i.state] = (counts[i.state] ?? 0) + 1;
    return { rule, state: ruleState(rule, mine), counts };
  });
  const tally: Record<string, number> = {};
  for (const r of rows) tally[r.state] = (tally[r.state] ?? 0) + 1;
  const shown = rows.filter((r) => (!wanted || r.state === wanted) && (!q || r.rule.name.toLowerCase().includes(q)));
  if (!rows.length) {
    return (
      <Empty>
        No alert rules yet. {canEdit.value ? <Link href="/alerts/new">Create one</Link> : "Editors create them"}: a query over logs, spans or metrics, a threshold, and where to send the notification.
      </Empty>
    );
  }
  return (
    <>
      <div class="filters">
        <SelectField
          label="State"
          value={wanted}
          options={[{ value: "", label: `All (${rows.length})` }, ...RULE_STATES.filter((s) => tally[s] || s === wanted).map((s) => ({ value: s, label: `${stateLabel(s)} (${tally[s] ?? 0})` }))]}
          onChange={(e) => setParams({ state: (e.target as HTMLSelectElement).value }, { replace: true })}
        />
        <Field label="Search rules" type="search" value={param("q") ?? ""} placeholder="Name contains…" onInput={(e) => setParams({ q: (e.target as HTMLInputElement).value }, { replace: true })} />
      </div>
      <ErrorNote error={instances.error} />
      {!shown.length ? (
        <Empty>No rule matches the filter.</Empty>
      ) : (
        <table class="table" aria-label="Alert rules">
          <thead>
            <tr>
              <th>Name</th>
              <th>State</th>
              <th>Instances</th>
              <th>Condition</th>
              <th>Every / window</th>
              <th>Last evaluation</th>
              {canEdit.value && <th>Actions</th>}
            </tr>
          </thead>
          <tbody>
            {shown.map(({ rule, state, counts }) => (
              <tr>
                <td>
                  <Link href={`/alerts/${rule.id}`}>{rule.name}</Link>
                  {rule.description && <div class="sub">{rule.description}</div>}
                </td>
                <td>
                  <Badge tone={stateTone(state)}>{stateLabel(state)}</Badge>
                </td>
                <td>
                  {Object.keys(counts).length ? (
                    Object.entries(counts)
                      .sort()
                      .map(([s, n]) => `${n} ${stateLabel(s)}`)
                      .join(" · ")
                  ) : (
                    <span class="muted">none</span>
                  )}
                </td>
                <td>
                  <code>{conditionText(rule.condition)}</code>
                </td>
                <td>
                  {rule.interval} / {rule.window}
                </td>
                <td>
                  {rule.last_eval_at ? <span title={formatTimestamp(rule.last_eval_at)}>{formatRelative(rule.last_eval_at)}</span> : <span class="muted">not yet</span>}
                  {rule.last_error && (
                    <div class="field-error" title={rule.last_error}>
                      {rule.last_error.length > 120 ? `${rule.last_error.slice(0, 120)}…` : rule.last_error}
                    </div>
                  )}
                </td>
                {canEdit.value && (
                  <td class="actions-cell">
                    <PauseButton rule={rule} done={rules.reload} />
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

function PauseButton({ rule, done }: { rule: AlertRule; done: () => void }) {
  const [error, setError] = useState<string | null>(null);
  return (
    <>
      <button
        type="button"
        class="btn small"
        aria-label={`${rule.paused ? "Resume" : "Pause"} ${rule.name}`}
        onClick={async () => {
          setError(null);
          try {
            await patch(`/api/v1/alerts/${rule.id}`, { paused: !rule.paused });
            done();
          } catch (e) {
            setError(e instanceof Error ? e.message : String(e));
          }
        }}
      >
        {rule.paused ? "Resume" : "Pause"}
      </button>
      {error && (
        <div class="field-error" role="alert">
          {error}
        </div>
      )}
    </>
  );
}
