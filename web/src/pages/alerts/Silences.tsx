// The Silences tab of `/alerts`: silences in force and to come (or expired, `?show=`), and
// for editors the form to create or edit one (`?silence=new|<id>`, prefilled from
// `?rule=&matchers=` when coming from an instance's "Silence"), "End now" and delete.
import { useEffect, useState } from "preact/hooks";
import { del, get, post, put } from "../../lib/api";
import type { AlertRule } from "../../lib/alertRule";
import { fieldMessage, fieldOf } from "../../lib/alertRule";
import { type Silence, type SilenceBody, endFromDuration, formatMatcher, formatMatchers, fromLocalInput, parseMatchers, silenceStatus, toLocalInput } from "../../lib/alertSilence";
import { useLoad } from "../../lib/hooks";
import { Link, param, setParams } from "../../lib/router";
import { canEdit } from "../../lib/session";
import { formatRelative, formatTimestamp } from "../../lib/format";
import { iso, tick } from "../../lib/time";
import { Badge, Card, Empty, ErrorNote, Field, Loading, SelectField, TextArea } from "../../components/ui";
import { ConfirmButton, type Errors, Fw, invalid } from "./FormBits";

const STATUS_TONE = { active: "warn", scheduled: "info", expired: "muted" } as const;

export function Silences() {
  const silences = useLoad((signal) => get<{ silences: Silence[] }>("/api/v1/silences?limit=1000", { signal }), [tick.value]);
  const rules = useLoad((signal) => get<{ alerts: AlertRule[] }>("/api/v1/alerts?limit=1000", { signal }), []);
  const show = param("show") ?? "current";
  const editing = param("silence");
  const [notice, setNotice] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const ruleName = (id: string | null) => (id ? rules.data?.alerts.find((r) => r.id === id)?.name ?? id : null);
  // Statuses age while the page is open (active → expired).
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 5000);
    return () => clearInterval(t);
  }, []);
  const all = silences.data?.silences ?? [];
  const shown = all.filter((s) => {
    const st = silenceStatus(s, now);
    return show === "all" || (show === "expired" ? st === "expired" : st !== "expired");
  });
  const target = editing && editing !== "new" ? all.find((s) => s.id === editing) : undefined;
  const closeForm = () => setParams({ silence: null, rule: null, matchers: null });

  async function endNow(s: Silence) {
    setError(null);
    try {
      await put(`/api/v1/silences/${s.id}`, { matchers: s.matchers, rule_id: s.rule_id, starts_at: s.starts_at, ends_at: iso(Math.max(Date.now(), Date.parse(s.starts_at) + 1000)), comment: s.comment });
      setNotice("Silence ended.");
      setNow(Date.now());
      silences.reload();
    } catch (e) {
      setError(e);
    }
  }
  async function remove(s: Silence) {
    setError(null);
    try {
      await del(`/api/v1/silences/${s.id}`);
      setNotice("Silence deleted.");
      silences.reload();
    } catch (e) {
      setError(e);
    }
  }

  return (
    <div class="stack">
      {canEdit.value && editing && (editing === "new" || target) && (
        <SilenceForm
          key={editing}
          silence={target}
          rules={rules.data?.alerts ?? []}
          onDone={(message) => {
            setNotice(message);
            closeForm();
            silences.reload();
          }}
          onCancel={closeForm}
        />
      )}
      {editing && editing !== "new" && silences.data && !target && <ErrorNote error={`There is no silence ${editing} in this organization.`} />}
      {notice && (
        <p class="ok-note" role="status">
          {notice}
        </p>
      )}
      <ErrorNote error={error ?? silences.error} />
      <Card title="Silences">
        <p class="note">While a silence matches an instance, the instance keeps its state but its notifications are held back; one still firing when the silence ends notifies at the next evaluation.</p>
        <div class="filters">
          <SelectField
            label="Show"
            value={show}
            options={[
              { value: "current", label: "Active and scheduled" },
              { value: "expired", label: "Expired" },
              { value: "all", label: "All" },
            ]}
            onChange={(e) => setParams({ show: (e.target as HTMLSelectElement).value === "current" ? null : (e.target as HTMLSelectElement).value }, { replace: true })}
          />
        </div>
        {!silences.data && !silences.error && <Loading label="Loading silences" />}
        {silences.data && !shown.length && (
          <Empty>
            {show === "expired" ? "No expired silences." : "No silence is in force or scheduled."}{" "}
            {canEdit.value && show !== "expired" && (
              <>
                <Link href="/alerts?tab=silences&silence=new">Create one</Link> to hold back notifications during maintenance.
              </>
            )}
          </Empty>
        )}
        {shown.length > 0 && (
          <table class="table" aria-label="Silences">
            <thead>
              <tr>
                <th>Status</th>
                <th>Matchers</th>
                <th>Rule</th>
                <th>Starts</th>
                <th>Ends</th>
                <th>Comment</th>
                <th>Created by</th>
                {canEdit.value && <th>Actions</th>}
              </tr>
            </thead>
            <tbody>
              {shown.map((s) => {
                const st = silenceStatus(s, now);
                return (
                  <tr>
                    <td>
                      <Badge tone={STATUS_TONE[st]}>{st}</Badge>
                    </td>
                    <td>
                      <span class="labels">
                        {s.matchers.map((m) => (
                          <span class="label-chip">{formatMatcher(m)}</span>
                        ))}
                      </span>
                    </td>
                    <td>{s.rule_id ? <Link href={`/alerts/${s.rule_id}`}>{ruleName(s.rule_id)}</Link> : <span class="muted">any rule</span>}</td>
                    <td title={formatTimestamp(s.starts_at)}>{formatRelative(s.starts_at)}</td>
                    <td title={formatTimestamp(s.ends_at)}>{formatRelative(s.ends_at)}</td>
                    <td>{s.comment || <span class="muted">—</span>}</td>
                    <td>{s.created_by?.name}</td>
                    {canEdit.value && (
                      <td class="actions-cell">
                        <Link href={`/alerts?tab=silences&silence=${s.id}`} class="btn small" aria-label={`Edit silence ${formatMatchers(s.matchers)}`}>
                          Edit
                        </Link>{" "}
                        {st === "active" && (
                          <button type="button" class="btn small" onClick={() => void endNow(s)}>
                            End now
                          </button>
                        )}{" "}
                        <ConfirmButton small label="Delete" confirm="Delete this silence?" onConfirm={() => remove(s)} />
                      </td>
                    )}
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </Card>
    </div>
  );
}

const text = (e: Event) => (e.target as HTMLInputElement).value;

function SilenceForm({ silence, rules, onDone, onCancel }: { silence?: Silence; rules: AlertRule[]; onDone: (message: string) => void; onCancel: () => void }) {
  const initialStarts = silence ? toLocalInput(Date.parse(silence.starts_at)) : "";
  const initialEnds = silence ? toLocalInput(Date.parse(silence.ends_at)) : "";
  const [matchers, setMatchers] = useState(silence ? formatMatchers(silence.matchers) : param("matchers") ?? "");
  const [ruleId, setRuleId] = useState(silence ? silence.rule_id ?? "" : param("rule") ?? "");
  const [starts, setStarts] = useState(initialStarts);
  const [mode, setMode] = useState<"duration" | "time">(silence ? "time" : "duration");
  const [duration, setDuration] = useState("2h");
  const [ends, setEnds] = useState(initialEnds);
  const [comment, setComment] = useState(silence?.comment ?? "");
  const [errors, setErrors] = useState<Errors>({});
  const [general, setGeneral] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const endField = mode === "duration" ? "duration" : "ends_at";

  async function submit(e: Event) {
    e.preventDefault();
    setGeneral(null);
    const found: Errors = {};
    const parsed = parseMatchers(matchers);
    if (parsed.error) found.matchers = parsed.error;
    // An unchanged time keeps its stored value to the millisecond.
    const startMs = starts === initialStarts && silence ? Date.parse(silence.starts_at) : fromLocalInput(starts);
    if (starts.trim() && startMs === null) found.starts_at = "is not a time";
    let endMs: number | null = null;
    if (mode === "duration") {
      try {
        endMs = endFromDuration(startMs ?? Date.now(), duration);
      } catch (err) {
        found.duration = (err as Error).message;
      }
    } else {
      endMs = ends === initialEnds && silence ? Date.parse(silence.ends_at) : fromLocalInput(ends);
      if (endMs === null) found.ends_at = "is required: when the silence ends";
    }
    setErrors(found);
    if (Object.keys(found).length) return;
    const body: SilenceBody = { matchers: parsed.matchers, rule_id: ruleId || null, ends_at: new Date(endMs!).toISOString(), comment };
    if (startMs !== null) body.starts_at = new Date(startMs).toISOString();
    setBusy(true);
    try {
      if (silence) await put(`/api/v1/silences/${silence.id}`, body);
      else await post("/api/v1/silences", body);
      onDone(silence ? "Silence saved." : "Silence created.");
    } catch (err) {
      const field = fieldOf(err);
      const key = field === "ends_at" ? endField : field;
      if (key && ["matchers", "rule_id", "starts_at", "duration", "ends_at", "comment"].includes(key)) setErrors({ [key]: fieldMessage(err) });
      else setGeneral(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Card title={silence ? "Edit silence" : "New silence"}>
      <form onSubmit={submit} noValidate aria-label={silence ? "Edit silence" : "New silence"} class="form-rows">
        <ErrorNote error={general} />
        <Fw errors={errors} field="matchers" scope="s">
          <TextArea
            label="Matchers"
            rows={3}
            value={matchers}
            onInput={(e) => setMatchers(text(e))}
            placeholder={"service=checkout\nhost=~web-.*"}
            hint="One a line: label=value, label!=value, label=~regex or label!~regex. An instance is silenced when every matcher holds."
            {...invalid(errors, "matchers", "s")}
          />
        </Fw>
        <Fw errors={errors} field="rule_id" scope="s">
          <SelectField label="Rule" value={ruleId} options={[{ value: "", label: "Any rule" }, ...rules.map((r) => ({ value: r.id, label: r.name }))]} onChange={(e) => setRuleId(text(e))} {...invalid(errors, "rule_id", "s")} />
        </Fw>
        <div class="row">
          <Fw errors={errors} field="starts_at" scope="s">
            <Field label="Starts" type="datetime-local" value={starts} onInput={(e) => setStarts(text(e))} hint="Empty: now" {...invalid(errors, "starts_at", "s")} />
          </Fw>
          <div class="fw">
            <SelectField
              label="Ends"
              value={mode}
              options={[
                { value: "duration", label: "after a duration" },
                { value: "time", label: "at a time" },
              ]}
              onChange={(e) => setMode(text(e) as "duration" | "time")}
            />
          </div>
          {mode === "duration" ? (
            <Fw errors={errors} field="duration" scope="s">
              <Field label="Duration" value={duration} onInput={(e) => setDuration(text(e))} hint="e.g. 30m, 2h, 1d (at most 365d)" {...invalid(errors, "duration", "s")} />
            </Fw>
          ) : (
            <Fw errors={errors} field="ends_at" scope="s">
              <Field label="Ends at" type="datetime-local" value={ends} onInput={(e) => setEnds(text(e))} {...invalid(errors, "ends_at", "s")} />
            </Fw>
          )}
        </div>
        <Fw errors={errors} field="comment" scope="s">
          <Field label="Comment" value={comment} onInput={(e) => setComment(text(e))} placeholder="Deploying checkout" {...invalid(errors, "comment", "s")} />
        </Fw>
        <div class="row buttons">
          <button type="submit" class="btn primary" disabled={busy}>
            {silence ? "Save silence" : "Create silence"}
          </button>
          <button type="button" class="btn" onClick={onCancel}>
            Cancel
          </button>
        </div>
      </form>
    </Card>
  );
}
