// `/alerts/<id>` and `/alerts/new`: the rule editor (every field the API takes, its errors
// next to the field), the backtest preview of the draft, Save / Pause / Resume / Send test /
// Delete for editors, and the rule's instances and history. Viewers read the rule and
// preview it, without edit controls.
import { useMemo, useState } from "preact/hooks";
import { ApiError, del, get, patch, post, put } from "../../lib/api";
import {
  type AlertInstance,
  type AlertRule,
  type Draft,
  ERROR_POLICIES,
  NEW_DRAFT,
  NO_DATA_POLICIES,
  OPS,
  REDUCERS,
  bodyOf,
  conditionText,
  draftOf,
  fieldMessage,
  fieldOf,
  formatPairs,
  parseIds,
  queryPosition,
  ruleState,
  stateLabel,
  stateTone,
} from "../../lib/alertRule";
import { useLoad, useTitle } from "../../lib/hooks";
import { Link, navigate, param } from "../../lib/router";
import { canEdit, isAdmin } from "../../lib/session";
import { formatRelative, formatTimestamp } from "../../lib/format";
import { Badge, Card, ErrorNote, Field, Loading, SelectField, TextArea } from "../../components/ui";
import { type EditorError, OqlEditor } from "../../components/editor/OqlEditor";
import type { PageProps } from "../../routes";
import { ConfirmButton, type Errors, Fw, invalid } from "./FormBits";
import { PreviewPanel } from "./PreviewPanel";
import { RuleActivity } from "./RuleActivity";
import "./alerts.css";

/** A message for the page the editor navigates to after creating a rule. */
let flash: string | null = null;

/** Form fields the API's `field` paths name; an error on any other field is shown on top. */
const FORM_FIELDS = new Set([
  "name",
  "description",
  "query",
  "window",
  "interval",
  "condition.op",
  "condition.threshold",
  "condition.warning",
  "condition.recovery",
  "condition.reducer",
  "pending_for",
  "keep_firing_for",
  "no_data",
  "on_error",
  "labels",
  "annotations",
  "channels",
  "repeat_interval",
  "send_resolved",
  "paused",
]);

/** The draft key each API path edits (clearing that field's error when it changes). */
const PATH_OF: Partial<Record<keyof Draft, string>> = { op: "condition.op", threshold: "condition.threshold", warning: "condition.warning", recovery: "condition.recovery", reducer: "condition.reducer" };

/** Errors by form field: text found before sending, or the API's error itself (the query
 * editor marks an OQL error at its line and column). */
type RawErrors = Record<string, unknown>;

/** An API error as `{field: error}` for the form, or null when it names no form field. */
function formError(e: unknown): RawErrors | null {
  const field = fieldOf(e);
  if (!field || !FORM_FIELDS.has(field)) return null;
  return { [field]: e };
}

/** What the form shows under a field. */
function errorText(e: unknown): string {
  if (typeof e === "string") return e;
  const pos = queryPosition(e);
  return fieldMessage(e) + (pos ? `\n${pos}` : "");
}

/** The query's error as the OQL editor takes it: the message without its field path. */
function editorError(e: unknown): EditorError[] | null {
  if (e === undefined || e === null) return null;
  if (typeof e === "string") return [{ message: e }];
  const d = e instanceof ApiError ? (e.detail as { line?: number; column?: number; hint?: string }) : {};
  return [{ message: fieldMessage(e), line: d.line, column: d.column, hint: d.hint, code: e instanceof ApiError ? e.code : undefined }];
}

export default function AlertDetail({ params }: PageProps) {
  const id = params.id;
  const isNew = id === "new";
  const loaded = useLoad((signal) => (isNew ? Promise.resolve(null) : get<AlertRule>(`/api/v1/alerts/${encodeURIComponent(id)}`, { signal })), [id]);
  useTitle(isNew ? "New alert rule" : loaded.data?.name ?? "Alert rule");
  if (isNew && !canEdit.value) {
    return (
      <div class="narrow">
        <h1>New alert rule</h1>
        <p>Only editors and admins create alert rules. Ask an admin of your organization for the editor role.</p>
        <Link href="/alerts">Back to alerts</Link>
      </div>
    );
  }
  if (!isNew && loaded.error) {
    return (
      <div class="narrow">
        <h1>Alert rule</h1>
        <ErrorNote error={loaded.error} />
        <Link href="/alerts">Back to alerts</Link>
      </div>
    );
  }
  if (!isNew && !loaded.data) return <Loading label="Loading the rule" />;
  return <Editor key={id} initial={loaded.data ?? null} />;
}

function newDraft(): Draft {
  const q = param("q");
  return q ? { ...NEW_DRAFT, query: q, annotations: "" } : { ...NEW_DRAFT };
}

function Editor({ initial }: { initial: AlertRule | null }) {
  const [rule, setRule] = useState<AlertRule | null>(initial);
  const [draft, setDraft] = useState<Draft>(() => (initial ? draftOf(initial) : newDraft()));
  const [saveErrors, setSaveErrors] = useState<RawErrors>({});
  const [previewErrors, setPreviewErrors] = useState<RawErrors>({});
  const [tried, setTried] = useState(false);
  const [general, setGeneral] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(() => {
    const f = flash;
    flash = null;
    return f;
  });
  const [busy, setBusy] = useState(false);
  const [nudge, setNudge] = useState(0);
  const editable = canEdit.value;
  const instances = useLoad((signal) => (rule ? get<{ instances: AlertInstance[] }>(`/api/v1/alerts/${rule.id}/instances`, { signal }) : Promise.resolve({ instances: [] })), [rule?.id, rule?.updated_at]);

  const local = bodyOf(draft);
  // Before the first save only malformed values are flagged (not fields still empty).
  const localShown: Errors = {};
  for (const [k, v] of Object.entries(local.errors)) {
    if (tried || !/is required/.test(v)) localShown[k] = v;
  }
  const raw: RawErrors = { ...previewErrors, ...saveErrors, ...localShown };
  const errors: Errors = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, errorText(v)]));
  // The preview needs no name yet; everything else must be sendable.
  const previewSource = editable ? draft : rule ? draftOf(rule) : draft;
  const previewBody = useMemo(() => bodyOf({ ...previewSource, name: previewSource.name.trim() || "Untitled rule" }), [JSON.stringify(previewSource)]);
  const blocked = previewBody.body
    ? undefined
    : `To preview, fix: ${Object.entries(previewBody.errors)
        .map(([k, v]) => `${k.replace("condition.", "")} ${v}`)
        .join("; ")}.`;
  const saved = rule ? JSON.stringify(bodyOf(draftOf(rule)).body) : null;
  const dirty = !rule || JSON.stringify(local.body) !== saved;

  function set<K extends keyof Draft>(key: K, value: Draft[K]) {
    setDraft((d) => ({ ...d, [key]: value }));
    const path = PATH_OF[key] ?? key;
    if (saveErrors[path]) setSaveErrors(({ [path]: _, ...rest }) => rest);
    setNotice(null);
  }

  async function save(e?: Event) {
    e?.preventDefault();
    setTried(true);
    setGeneral(null);
    setNotice(null);
    const { body } = bodyOf(draft);
    if (!body) return;
    setBusy(true);
    try {
      if (!rule) {
        const created = await post<AlertRule>("/api/v1/alerts", body);
        flash = `Alert rule “${created.name}” created.`;
        const range = param("range");
        navigate(`/alerts/${created.id}${range ? `?range=${encodeURIComponent(range)}` : ""}`, { replace: true });
        return;
      }
      const updated = await put<AlertRule>(`/api/v1/alerts/${rule.id}`, body);
      setRule(updated);
      setDraft(draftOf(updated));
      setSaveErrors({});
      setNotice("Saved.");
    } catch (err) {
      const f = formError(err);
      if (f) setSaveErrors(f);
      else setGeneral(err);
    } finally {
      setBusy(false);
    }
  }

  async function setPaused(paused: boolean) {
    if (!rule) return;
    setBusy(true);
    setGeneral(null);
    try {
      const updated = await patch<AlertRule>(`/api/v1/alerts/${rule.id}`, { paused });
      setRule(updated);
      setDraft((d) => ({ ...d, paused: updated.paused }));
      setNotice(paused ? "Paused: the rule is not evaluated until resumed." : "Resumed.");
    } catch (err) {
      setGeneral(err);
    } finally {
      setBusy(false);
    }
  }

  async function sendTest() {
    if (!rule) return;
    setGeneral(null);
    try {
      const { queued } = await post<{ queued: number }>(`/api/v1/alerts/${rule.id}/test`);
      setNotice(queued ? `Queued ${queued} test ${queued === 1 ? "message" : "messages"} to the rule's channels.` : "The rule has no channels, so no test message was sent. Add a channel and save first.");
    } catch (err) {
      setGeneral(err);
    }
  }

  async function remove() {
    if (!rule) return;
    try {
      await del(`/api/v1/alerts/${rule.id}`);
      navigate("/alerts");
    } catch (err) {
      setGeneral(err);
    }
  }

  const state = rule ? ruleState(rule, instances.data?.instances ?? []) : null;
  return (
    <div>
      <div class="page-head">
        <h1>{rule ? rule.name : "New alert rule"}</h1>
        {state && <Badge tone={stateTone(state)}>{stateLabel(state)}</Badge>}
        {editable && dirty && rule && <span class="dirty">Unsaved changes</span>}
        <div class="actions">
          <Link href="/alerts" class="btn">
            All rules
          </Link>
          {editable && rule && (
            <>
              <button type="button" class="btn" disabled={busy} onClick={() => void setPaused(!rule.paused)}>
                {rule.paused ? "Resume" : "Pause"}
              </button>
              <button type="button" class="btn" onClick={() => void sendTest()}>
                Send test
              </button>
              <ConfirmButton label="Delete" confirm="Delete this rule, its instances and history?" onConfirm={remove} />
            </>
          )}
          {editable && (
            <button type="submit" form="rule-form" class="btn primary" disabled={busy}>
              {rule ? "Save" : "Create rule"}
            </button>
          )}
        </div>
      </div>
      {notice && (
        <p class="ok-note" role="status">
          {notice}
        </p>
      )}
      <ErrorNote error={general} />
      {rule && <RuleStatus rule={rule} />}
      <div class="alert-editor">
        {editable ? (
          <RuleForm draft={draft} set={set} errors={errors} queryError={editorError(raw.query)} onSubmit={save} isNew={!rule} onRun={() => setNudge((n) => n + 1)} />
        ) : (
          rule && <RuleReadOnly rule={rule} />
        )}
        <div class="preview-col">
          <PreviewPanel body={previewBody.body} blocked={blocked} nudge={nudge} onFieldError={(e) => {
              const at = e ? formError(e) : null;
              setPreviewErrors(at ?? {});
              return at ? Object.keys(at)[0] : null;
            }} />
        </div>
      </div>
      {rule && <RuleActivity rule={rule} instances={instances} />}
    </div>
  );
}

function RuleStatus({ rule }: { rule: AlertRule }) {
  return (
    <p class="note">
      {rule.paused ? "Paused. " : ""}
      {rule.last_eval_at ? (
        <span title={formatTimestamp(rule.last_eval_at)}>Last evaluated {formatRelative(rule.last_eval_at)}</span>
      ) : (
        "Not evaluated yet"
      )}
      {rule.next_eval_at && !rule.paused && <span title={formatTimestamp(rule.next_eval_at)}> · next {formatRelative(rule.next_eval_at)}</span>}
      {` · health ${stateLabel(rule.health)}`}
      {rule.last_error && <span class="field-error"> · last error: {rule.last_error}</span>}
    </p>
  );
}

const text = (e: Event) => (e.target as HTMLInputElement).value;

function RuleForm({
  draft,
  set,
  errors,
  queryError,
  onSubmit,
  isNew,
  onRun,
}: {
  draft: Draft;
  set: <K extends keyof Draft>(k: K, v: Draft[K]) => void;
  errors: Errors;
  queryError: EditorError[] | null;
  onSubmit: (e: Event) => void;
  isNew: boolean;
  onRun: () => void;
}) {
  const dir = draft.op === "<" || draft.op === "<=" ? "above" : "below";
  const levels = draft.op !== "==" && draft.op !== "!=";
  return (
    <Card title="Rule">
      <form id="rule-form" onSubmit={onSubmit} noValidate>
        <fieldset>
          <legend>What to watch</legend>
          <Fw errors={errors} field="name">
            <Field label="Name" value={draft.name} onInput={(e) => set("name", text(e))} placeholder="Checkout errors" {...invalid(errors, "name")} />
          </Fw>
          <Fw errors={errors} field="description">
            <Field label="Description" value={draft.description} onInput={(e) => set("description", text(e))} placeholder="What this rule is for and what to do when it fires" {...invalid(errors, "description")} />
          </Fw>
          <div class="fw query-field">
            <OqlEditor label="Query" value={draft.query} onChange={(v) => set("query", v)} onRun={onRun} errors={queryError} rows={3} />
            <small class="hint">
              Ctrl/Cmd+Enter previews. An OQL SELECT without a time range: each evaluation runs it over the window. Each row is one series; its value is the column named value (else the last number), its labels the other
              columns.
            </small>
          </div>
        </fieldset>
        <fieldset>
          <legend>When it evaluates</legend>
          <div class="row">
            <Fw errors={errors} field="window">
              <Field label="Window" value={draft.window} onInput={(e) => set("window", text(e))} hint="10s to 24h, e.g. 5m" {...invalid(errors, "window")} />
            </Fw>
            <Fw errors={errors} field="interval">
              <Field label="Interval" value={draft.interval} onInput={(e) => set("interval", text(e))} hint="Every 10s to 24h" {...invalid(errors, "interval")} />
            </Fw>
          </div>
        </fieldset>
        <fieldset>
          <legend>Condition</legend>
          <div class="row">
            <Fw errors={errors} field="condition.reducer">
              <SelectField label="Reducer" value={draft.reducer} options={REDUCERS} onChange={(e) => set("reducer", text(e) as Draft["reducer"])} {...invalid(errors, "condition.reducer")} />
            </Fw>
            <Fw errors={errors} field="condition.op">
              <SelectField label="Operator" value={draft.op} options={OPS} onChange={(e) => set("op", text(e) as Draft["op"])} {...invalid(errors, "condition.op")} />
            </Fw>
            <Fw errors={errors} field="condition.threshold">
              <Field label="Threshold" inputMode="decimal" value={draft.threshold} onInput={(e) => set("threshold", text(e))} placeholder="50" {...invalid(errors, "condition.threshold")} />
            </Fw>
          </div>
          <p class="note">The reducer folds a series' buckets into one value when the query has a bucket() column.</p>
          {levels && (
            <div class="row">
              <Fw errors={errors} field="condition.warning">
                <Field label="Warning level" inputMode="decimal" value={draft.warning} onInput={(e) => set("warning", text(e))} hint={`Optional, ${dir} the threshold: fires at severity warning`} {...invalid(errors, "condition.warning")} />
              </Fw>
              <Fw errors={errors} field="condition.recovery">
                <Field label="Recovery level" inputMode="decimal" value={draft.recovery} onInput={(e) => set("recovery", text(e))} hint={`Optional, ${dir} the threshold: resolves once no longer breached`} {...invalid(errors, "condition.recovery")} />
              </Fw>
            </div>
          )}
          <div class="row">
            <Fw errors={errors} field="pending_for">
              <Field label="Pending for" value={draft.pending_for} onInput={(e) => set("pending_for", text(e))} hint="How long it must hold before firing (0s: at once)" {...invalid(errors, "pending_for")} />
            </Fw>
            <Fw errors={errors} field="keep_firing_for">
              <Field label="Keep firing for" value={draft.keep_firing_for} onInput={(e) => set("keep_firing_for", text(e))} hint="How long it stays firing after recovering" {...invalid(errors, "keep_firing_for")} />
            </Fw>
          </div>
          <div class="row">
            <Fw errors={errors} field="no_data">
              <SelectField
                label="When there is no data"
                value={draft.no_data}
                options={NO_DATA_POLICIES.map((p) => ({ value: p, label: { ok: "ok (no row means zero)", no_data: "raise a no data alert", firing: "fire", keep_last: "keep the last state" }[p] }))}
                onChange={(e) => set("no_data", text(e) as Draft["no_data"])}
                {...invalid(errors, "no_data")}
              />
            </Fw>
            <Fw errors={errors} field="on_error">
              <SelectField
                label="When the query fails"
                value={draft.on_error}
                options={ERROR_POLICIES.map((p) => ({ value: p, label: { error: "raise an error alert", ok: "ok (ignore)", firing: "fire", keep_last: "keep the last state" }[p] }))}
                onChange={(e) => set("on_error", text(e) as Draft["on_error"])}
                {...invalid(errors, "on_error")}
              />
            </Fw>
          </div>
        </fieldset>
        <fieldset>
          <legend>Labels and annotations</legend>
          <Fw errors={errors} field="labels">
            <TextArea label="Labels" class="short" rows={2} value={draft.labels} onInput={(e) => set("labels", text(e))} placeholder="team=payments" hint="name=value, one a line; added to every instance (silences and receivers match them)." {...invalid(errors, "labels")} />
          </Fw>
          <Fw errors={errors} field="annotations">
            <TextArea
              label="Annotations"
              class="short"
              rows={3}
              value={draft.annotations}
              onInput={(e) => set("annotations", text(e))}
              placeholder="summary={{labels.service}}: {{value}} errors in {{window}}"
              hint="name=template, one a line; templates use {{labels.<name>}}, {{value}}, {{window}}, {{threshold}}, {{state}}."
              {...invalid(errors, "annotations")}
            />
          </Fw>
        </fieldset>
        <fieldset>
          <legend>Notifications</legend>
          <Fw errors={errors} field="channels">
            <ChannelPicker value={draft.channels} onChange={(ids) => set("channels", ids)} errors={errors} />
          </Fw>
          <div class="row">
            <Fw errors={errors} field="repeat_interval">
              <Field label="Repeat interval" value={draft.repeat_interval} onInput={(e) => set("repeat_interval", text(e))} hint="Notify again while firing, 1m to 30d" {...invalid(errors, "repeat_interval")} />
            </Fw>
          </div>
          <label class="check">
            <input type="checkbox" checked={draft.send_resolved} onChange={(e) => set("send_resolved", (e.target as HTMLInputElement).checked)} />
            Send resolved notifications
          </label>
          {isNew && (
            <label class="check">
              <input type="checkbox" checked={draft.paused} onChange={(e) => set("paused", (e.target as HTMLInputElement).checked)} />
              Create paused (not evaluated until resumed)
            </label>
          )}
        </fieldset>
      </form>
    </Card>
  );
}

interface Channel {
  id: string;
  name: string;
  kind: string;
}

/** Admins pick channels from the org's list; others (who may not list channels) type ids. */
function ChannelPicker({ value, onChange, errors }: { value: string[]; onChange: (ids: string[]) => void; errors: Errors }) {
  const admin = isAdmin.value;
  const channels = useLoad((signal) => (admin ? get<{ notification_channels: Channel[] }>("/api/v1/notification-channels", { signal }) : Promise.resolve(null)), [admin]);
  const [typed, setTyped] = useState(value.join(", "));
  if (!admin) {
    return (
      <Field
        label="Channel ids"
        value={typed}
        onInput={(e) => {
          setTyped(text(e));
          onChange(parseIds(text(e)));
        }}
        placeholder="0190c9e2-…, …"
        hint="Only admins can list notification channels, so paste the ids of the channels to notify (comma-separated; an admin finds them in Settings → Channels), or leave this empty."
        {...invalid(errors, "channels")}
      />
    );
  }
  const list = channels.data?.notification_channels ?? [];
  const unknown = value.filter((id) => !list.some((c) => c.id === id));
  const toggle = (id: string, on: boolean) => onChange(on ? [...value, id] : value.filter((v) => v !== id));
  return (
    <div class="field" role="group" aria-label="Channels">
      <label>Channels</label>
      {channels.loading && !channels.data && <span class="muted">Loading channels…</span>}
      <ErrorNote error={channels.error} />
      <div class="channel-list">
        {list.map((c) => (
          <label>
            <input type="checkbox" checked={value.includes(c.id)} onChange={(e) => toggle(c.id, (e.target as HTMLInputElement).checked)} />
            {c.name} <span class="muted">({c.kind})</span>
          </label>
        ))}
        {unknown.map((id) => (
          <label>
            <input type="checkbox" checked onChange={() => toggle(id, false)} />
            <code>{id}</code> <span class="muted">(not a channel of this organization any more)</span>
          </label>
        ))}
      </div>
      {!channels.loading && !list.length && (
        <small class="hint">
          No notification channels yet: add a webhook, Slack or email channel in <Link href="/settings/channels">Settings → Channels</Link>. Without one the rule still evaluates and keeps its history.
        </small>
      )}
    </div>
  );
}

/** What a viewer sees instead of the form: every field, read only. */
function RuleReadOnly({ rule }: { rule: AlertRule }) {
  const c = rule.condition;
  const rows: [string, string][] = [
    ["Description", rule.description || "—"],
    ["Window", rule.window],
    ["Interval", rule.interval],
    ["Condition", `${conditionText(c)}, reducer ${c.reducer ?? "last"}`],
    ["Pending for", rule.pending_for],
    ["Keep firing for", rule.keep_firing_for],
    ["No data", rule.no_data],
    ["On error", rule.on_error],
    ["Labels", formatPairs(rule.labels) || "—"],
    ["Annotations", formatPairs(rule.annotations) || "—"],
    ["Channels", rule.channels.join(", ") || "—"],
    ["Repeat interval", rule.repeat_interval],
    ["Send resolved", rule.send_resolved ? "yes" : "no"],
    ["Created by", `${rule.created_by?.name ?? ""} ${formatRelative(rule.created_at)}`],
  ];
  return (
    <Card title="Rule">
      <p class="note">You can read and preview this rule; editors and admins change it.</p>
      <h3>Query</h3>
      <pre class="json query-text">{rule.query}</pre>
      <dl class="kv section-gap">
        {rows.map(([k, v]) => (
          <>
            <dt>{k}</dt>
            <dd>{v}</dd>
          </>
        ))}
      </dl>
    </Card>
  );
}

