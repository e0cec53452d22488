// `/heartbeats`: cron monitors with their state, schedule, grace, next due and last ping;
// the selected one (`?name=`) with its recent pings, run durations and state changes, and
// for editors "Edit schedule" (every <duration> or cron + time zone, grace, max runtime),
// pause / resume and delete. The empty state says how a job pings.
import { useEffect, useMemo, useState } from "preact/hooks";
import { del, get, patch } from "../../lib/api";
import { fieldMessage, fieldOf } from "../../lib/alertRule";
import { useLoad, useTitle } from "../../lib/hooks";
import { Link, param, setParams } from "../../lib/router";
import { canEdit } from "../../lib/session";
import { formatDuration, formatRelative, formatTimestamp } from "../../lib/format";
import { tick } from "../../lib/time";
import { Chart } from "../../components/Chart";
import { Badge, Card, CopyButton, ErrorNote, Field, Loading, SelectField, toneOf } from "../../components/ui";
import { ConfirmButton, type Errors, Fw, hrefWith, invalid } from "../alerts/FormBits";
import { type Monitor, type MonitorDetail, type ScheduleForm, describeSchedule, formOf, formatSecs, patchOf, pingCommand } from "./schedule";
import "../alerts/alerts.css";

const POLL_MS = 30_000;

export default function Heartbeats() {
  useTitle("Heartbeats");
  const list = useLoad((signal) => get<{ heartbeats: Monitor[] }>("/api/v1/heartbeats", { signal }), [tick.value]);
  useEffect(() => {
    const t = setInterval(list.reload, POLL_MS);
    return () => clearInterval(t);
  }, []);
  const selected = param("name");
  const monitors = list.data?.heartbeats ?? [];
  return (
    <div>
      <div class="page-head">
        <h1>Heartbeats</h1>
        <span class="muted">Cron jobs and scheduled tasks that ping Hexcovery when they run.</span>
      </div>
      <ErrorNote error={list.error} />
      {!list.data && !list.error && <Loading label="Loading monitors" />}
      {list.data && !monitors.length && <HowToPing />}
      {monitors.length > 0 && (
        <Card>
          <table class="table" aria-label="Heartbeat monitors">
            <thead>
              <tr>
                <th>Name</th>
                <th>State</th>
                <th>Schedule</th>
                <th>Grace</th>
                <th>Next due</th>
                <th>Last ping</th>
                <th>Last success</th>
              </tr>
            </thead>
            <tbody>
              {monitors.map((m) => (
                <tr class={m.name === selected ? "selected" : ""}>
                  <td>
                    <Link href={hrefWith({ name: m.name === selected ? null : m.name })} aria-current={m.name === selected ? "true" : undefined}>
                      {m.name}
                    </Link>
                  </td>
                  <td>
                    <Badge tone={toneOf(m.state)}>{m.state}</Badge>
                    <div class="sub" title={formatTimestamp(m.state_since)}>
                      since {formatRelative(m.state_since)}
                    </div>
                  </td>
                  <td>
                    <code>{describeSchedule(m)}</code>
                  </td>
                  <td>{formatSecs(m.grace_secs)}</td>
                  <td title={m.next_due ? formatTimestamp(m.next_due) : undefined}>{m.paused ? <span class="muted">paused</span> : m.next_due ? formatRelative(m.next_due) : "—"}</td>
                  <td title={m.last_ping_at ? formatTimestamp(m.last_ping_at) : undefined}>{m.last_ping_at ? formatRelative(m.last_ping_at) : "never"}</td>
                  <td title={m.last_success_at ? formatTimestamp(m.last_success_at) : undefined}>{m.last_success_at ? formatRelative(m.last_success_at) : "never"}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {!selected && <p class="note">Select a monitor to see its pings{canEdit.value ? " and edit its schedule" : ""}.</p>}
        </Card>
      )}
      {selected && list.data && <MonitorPanel key={selected} name={selected} onChanged={list.reload} />}
    </div>
  );
}

function HowToPing() {
  const origin = location.origin;
  return (
    <Card title="No heartbeat monitors yet">
      <p>
        A monitor is created by its first ping. Have the job call this when it succeeds (with an API key from <Link href="/settings/api-keys">Settings → API keys</Link>):
      </p>
      <Cmd text={pingCommand(origin, "nightly-backup")} />
      <p class="note">
        Add <code>/start</code> when the job begins to record its run duration, and <code>/fail</code> when it fails; an optional body (the job's output, up to 10 KiB) and <code>?run_id=</code> are kept with the ping.
        A new monitor expects a ping every hour with 5 minutes of grace; change that here afterwards. Transitions to down or failed notify the organization's channels.
      </p>
    </Card>
  );
}

function Cmd({ text }: { text: string }) {
  return (
    <div class="cmd">
      <code data-copy={text}>{text}</code>
      <CopyButton text={text} label="Copy command" />
    </div>
  );
}

function MonitorPanel({ name, onChanged }: { name: string; onChanged: () => void }) {
  const detail = useLoad((signal) => get<MonitorDetail>(`/api/v1/heartbeats/${encodeURIComponent(name)}`, { signal }), [name, tick.value]);
  const [editing, setEditing] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const m = detail.data;
  // A failed reload keeps what was shown (and an open schedule editor) under the error.
  if (!m) return detail.error ? <ErrorNote error={detail.error} /> : <Loading label={`Loading ${name}`} />;

  async function setPaused(paused: boolean) {
    setError(null);
    try {
      await patch(`/api/v1/heartbeats/${encodeURIComponent(name)}`, { paused });
      setNotice(paused ? "Paused: its state stays paused until resumed." : "Resumed.");
      detail.reload();
      onChanged();
    } catch (e) {
      setError(e);
    }
  }
  async function remove() {
    setError(null);
    try {
      await del(`/api/v1/heartbeats/${encodeURIComponent(name)}`);
      setParams({ name: null });
      onChanged();
    } catch (e) {
      setError(e);
    }
  }

  return (
    <Card
      class="hb-detail"
      title={
        <>
          {m.name} <Badge tone={toneOf(m.state)}>{m.state}</Badge>
        </>
      }
      actions={
        canEdit.value && (
          <>
            {!editing && (
              <button type="button" class="btn" onClick={() => setEditing(true)}>
                Edit schedule
              </button>
            )}
            <button type="button" class="btn" onClick={() => void setPaused(!m.paused)}>
              {m.paused ? "Resume" : "Pause"}
            </button>
            <ConfirmButton label="Delete" confirm={`Delete ${m.name} and its pings? A new ping creates it again.`} onConfirm={remove} />
          </>
        )
      }
    >
      {notice && (
        <p class="ok-note" role="status">
          {notice}
        </p>
      )}
      <ErrorNote error={detail.error} />
      <ErrorNote error={error} />
      {editing && canEdit.value && (
        <ScheduleEditor
          monitor={m}
          onCancel={() => setEditing(false)}
          onSaved={() => {
            setEditing(false);
            setNotice("Schedule saved.");
            detail.reload();
            onChanged();
          }}
        />
      )}
      <div class="hb-grid">
        <div>
          <dl class="kv">
            <dt>Schedule</dt>
            <dd>{describeSchedule(m)}</dd>
            <dt>Grace</dt>
            <dd>{formatSecs(m.grace_secs)}</dd>
            <dt>Max runtime</dt>
            <dd>{m.max_runtime_secs ? formatSecs(m.max_runtime_secs) : "none"}</dd>
            <dt>Next due</dt>
            <dd>{m.paused ? "paused" : m.next_due ? `${formatTimestamp(m.next_due).slice(0, 19)} (${formatRelative(m.next_due)})` : "after its first success"}</dd>
            <dt>Last ping</dt>
            <dd>{m.last_ping_at ? `${formatTimestamp(m.last_ping_at).slice(0, 19)} (${formatRelative(m.last_ping_at)})` : "never"}</dd>
            <dt>Last failure</dt>
            <dd>{m.last_fail_at ? `${formatTimestamp(m.last_fail_at).slice(0, 19)} (${formatRelative(m.last_fail_at)})` : "never"}</dd>
            <dt>Created</dt>
            <dd>{formatTimestamp(m.created_at).slice(0, 19)}</dd>
          </dl>
          <h3>Ping it</h3>
          <Cmd text={pingCommand(location.origin, m.name)} />
          <p class="sub">
            Append <code>/start</code> when the run begins (to measure its duration) and <code>/fail</code> when it fails.
          </p>
        </div>
        <div>
          <RunDurations monitor={m} />
          <h3>State changes</h3>
          {m.events.length ? (
            <table class="table" aria-label="State changes">
              <thead>
                <tr>
                  <th>At</th>
                  <th>From</th>
                  <th>To</th>
                </tr>
              </thead>
              <tbody>
                {m.events.slice(0, 10).map((e) => (
                  <tr>
                    <td title={formatRelative(e.at)}>{formatTimestamp(e.at).slice(0, 19)}</td>
                    <td>
                      <Badge tone={toneOf(e.from)}>{e.from}</Badge>
                    </td>
                    <td>
                      <Badge tone={toneOf(e.to)}>{e.to}</Badge>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <p class="note">No state changes yet.</p>
          )}
        </div>
      </div>
      <h3>Recent pings</h3>
      {m.pings.length ? (
        <table class="table" aria-label="Recent pings">
          <thead>
            <tr>
              <th>At</th>
              <th>Kind</th>
              <th>Run</th>
              <th class="num">Duration</th>
              <th>Output</th>
            </tr>
          </thead>
          <tbody>
            {m.pings.map((p) => (
              <tr>
                <td title={formatRelative(p.at)}>{formatTimestamp(p.at).slice(0, 19)}</td>
                <td>
                  <Badge tone={p.kind === "success" ? "ok" : p.kind === "fail" ? "bad" : "info"}>{p.kind}</Badge>
                </td>
                <td>{p.run_id ? <code>{p.run_id}</code> : <span class="muted">—</span>}</td>
                <td class="num">{p.duration_ms !== null ? formatDuration(p.duration_ms) : "—"}</td>
                <td>{p.body ? <div class="ping-body" title={p.body.slice(0, 2000)}>{p.body.slice(0, 400)}</div> : <span class="muted">—</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p class="note">No pings yet.</p>
      )}
    </Card>
  );
}

/** Run durations (start to success or fail) of the recent pings, when there are any. */
function RunDurations({ monitor }: { monitor: MonitorDetail }) {
  const runs = useMemo(() => monitor.pings.filter((p) => p.duration_ms !== null).reverse(), [monitor]);
  const data = useMemo(() => [runs.map((p) => Date.parse(p.at) / 1000), runs.map((p) => p.duration_ms)], [runs]);
  // At least an hour wide, so a few runs close together do not fill the axis with odd ticks.
  const xRange = useMemo<[number, number] | undefined>(() => {
    if (runs.length < 2) return undefined;
    const xs = data[0] as number[];
    const [lo, hi] = [xs[0], xs[xs.length - 1]];
    const pad = Math.max((hi - lo) * 0.05, (3600 - (hi - lo)) / 2, 60);
    return [lo - pad, hi + pad];
  }, [data]);
  if (!runs.length) return <p class="note">No run durations yet: ping <code>/start</code> when the job begins to measure them.</p>;
  const ms = runs.map((p) => p.duration_ms!);
  const last = runs[runs.length - 1];
  return (
    <>
      <h3>Run duration</h3>
      <p class="sub">
        Last run {formatDuration(last.duration_ms)}
        {last.run_id ? ` (run ${last.run_id})` : ""}
        {runs.length > 1 && ` · average ${formatDuration(ms.reduce((a, b) => a + b, 0) / ms.length)} · longest ${formatDuration(Math.max(...ms))} over ${runs.length} runs`}
      </p>
      {runs.length > 1 && <Chart data={data} series={[{ label: "run duration", kind: "points", color: "#3b6fd8", format: formatDuration }]} yFormat={(v) => (v === 0 ? "0" : formatDuration(v))} height={140} xRange={xRange} label={`Run durations of ${monitor.name}`} />}
    </>
  );
}

const ZONES: string[] = (() => {
  try {
    return (Intl as unknown as { supportedValuesOf(k: string): string[] }).supportedValuesOf("timeZone");
  } catch {
    return ["UTC"];
  }
})();

function ScheduleEditor({ monitor, onSaved, onCancel }: { monitor: Monitor; onSaved: () => void; onCancel: () => void }) {
  const [form, setForm] = useState<ScheduleForm>(() => formOf(monitor));
  const [errors, setErrors] = useState<Errors>({});
  const [general, setGeneral] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const set = (k: keyof ScheduleForm) => (e: Event) => {
    setForm((f) => ({ ...f, [k]: (e.target as HTMLInputElement).value }));
    setErrors({});
  };
  async function submit(e: Event) {
    e.preventDefault();
    setGeneral(null);
    const body = patchOf(form, monitor);
    if (!Object.keys(body).length) return onCancel();
    setBusy(true);
    try {
      await patch(`/api/v1/heartbeats/${encodeURIComponent(monitor.name)}`, body);
      onSaved();
    } catch (err) {
      const field = fieldOf(err);
      const key = field === "schedule" ? (form.kind === "every" ? "every" : "cron") : field === "max_runtime" ? "maxRuntime" : field;
      if (key && ["every", "cron", "timezone", "grace", "maxRuntime"].includes(key)) setErrors({ [key]: fieldMessage(err) });
      else setGeneral(err);
    } finally {
      setBusy(false);
    }
  }
  return (
    <form onSubmit={submit} noValidate aria-label="Edit schedule" class="section-gap form-rows">
      <ErrorNote error={general} />
      <div class="row">
        <div class="fw">
          <SelectField
            label="Schedule type"
            value={form.kind}
            options={[
              { value: "every", label: "Every (a period after the last success)" },
              { value: "cron", label: "Cron expression" },
            ]}
            onChange={set("kind")}
          />
        </div>
        {form.kind === "every" ? (
          <Fw errors={errors} field="every" scope="h">
            <Field label="Every" value={form.every} onInput={set("every")} hint="e.g. 5m, 1h, 1d" {...invalid(errors, "every", "h")} />
          </Fw>
        ) : (
          <>
            <Fw errors={errors} field="cron" scope="h">
              <Field label="Cron expression" value={form.cron} onInput={set("cron")} placeholder="30 2 * * *" hint="minute hour day-of-month month day-of-week" {...invalid(errors, "cron", "h")} />
            </Fw>
            <Fw errors={errors} field="timezone" scope="h">
              <Field label="Time zone" list="hb-zones" value={form.timezone} onInput={set("timezone")} hint="IANA name, e.g. Europe/Berlin" {...invalid(errors, "timezone", "h")} />
              <datalist id="hb-zones">
                {ZONES.map((z) => (
                  <option value={z} />
                ))}
              </datalist>
            </Fw>
          </>
        )}
        <Fw errors={errors} field="grace" scope="h">
          <Field label="Grace" value={form.grace} onInput={set("grace")} hint="How late a ping may be before down" {...invalid(errors, "grace", "h")} />
        </Fw>
        <Fw errors={errors} field="maxRuntime" scope="h">
          <Field label="Max runtime" value={form.maxRuntime} onInput={set("maxRuntime")} placeholder="none" hint="A started run open longer fails; empty: no limit" {...invalid(errors, "maxRuntime", "h")} />
        </Fw>
      </div>
      <div class="row buttons">
        <button type="submit" class="btn primary" disabled={busy}>
          Save schedule
        </button>
        <button type="button" class="btn" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
