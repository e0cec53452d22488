// Settings › Notification channels (admin): webhooks, Slack incoming webhooks and email
// lists that alerts and heartbeats notify. "Send test" queues a test message and follows
// its delivery until it ends; a channel's deliveries open below it (`?channel=<id>`).
import { useEffect, useRef, useState } from "preact/hooks";
import { Badge, Empty, ErrorNote, Field, Loading, SelectField, TextArea } from "../../components/ui";
import { JsonView, tryParseJson } from "../../components/JsonView";
import { del, get, post } from "../../lib/api";
import { useLoad } from "../../lib/hooks";
import { Link, location, setParams } from "../../lib/router";
import { ConfirmButton, SectionHead, useAction, When } from "./common";

type Kind = "webhook" | "slack" | "email";
interface Channel {
  id: string;
  name: string;
  kind: Kind;
  url?: string;
  has_secret?: boolean;
  emails?: string[];
  created_by: string;
  created_at: string;
}
interface Delivery {
  id: string;
  event: string;
  payload: string;
  status: string;
  attempts: number;
  next_attempt_at: string;
  last_error: string | null;
  created_at: string;
  delivered_at: string | null;
}

const KINDS = [
  { value: "webhook", label: "Webhook (Alertmanager-compatible JSON)" },
  { value: "slack", label: "Slack incoming webhook" },
  { value: "email", label: "Email" },
];

/** Addresses typed one per line or separated by commas. */
const splitEmails = (text: string) =>
  text
    .split(/[\s,;]+/)
    .map((s) => s.trim())
    .filter(Boolean);

const deliveryTone = (status: string) => (status === "delivered" ? "ok" : status === "failed" ? "bad" : "warn");

function CreateChannel({ onCreated }: { onCreated: () => void }) {
  const [kind, setKind] = useState<Kind>("webhook");
  const [name, setName] = useState("");
  const [url, setUrl] = useState("");
  const [secret, setSecret] = useState("");
  const [emails, setEmails] = useState("");
  const create = useAction(async () => {
    const body: Record<string, unknown> = { name: name.trim(), kind };
    if (kind === "email") body.emails = splitEmails(emails);
    else body.url = url.trim();
    if (kind === "webhook" && secret) body.secret = secret;
    await post("/api/v1/notification-channels", body);
    setName("");
    setUrl("");
    setSecret("");
    setEmails("");
    onCreated();
  });
  return (
    <form
      class="card"
      aria-label="Create a channel"
      onSubmit={(e) => {
        e.preventDefault();
        void create.run();
      }}
    >
      <h3>New channel</h3>
      <div class="row">
        <SelectField label="Kind" value={kind} onChange={(e) => setKind(e.currentTarget.value as Kind)} options={KINDS} />
        <Field label="Channel name" required maxLength={100} placeholder="e.g. On-call pager" value={name} onInput={(e) => setName(e.currentTarget.value)} />
      </div>
      {kind === "webhook" && (
        <div class="row">
          <Field label="Webhook URL" type="url" required placeholder="https://hooks.example.com/hexcovery" value={url} onInput={(e) => setUrl(e.currentTarget.value)} />
          <Field
            label="Signing secret"
            type="password"
            autocomplete="off"
            minLength={16}
            maxLength={256}
            placeholder="optional, 16 to 256 characters"
            hint="Signs each request so the receiver can check it came from here; never shown again."
            value={secret}
            onInput={(e) => setSecret(e.currentTarget.value)}
          />
        </div>
      )}
      {kind === "slack" && (
        <Field
          label="Slack webhook URL"
          type="url"
          required
          placeholder="https://hooks.slack.com/services/…"
          hint="Kept encrypted: the URL is the secret, so it is never shown again."
          value={url}
          onInput={(e) => setUrl(e.currentTarget.value)}
        />
      )}
      {kind === "email" && (
        <TextArea label="Email addresses" required rows={3} placeholder={"oncall@example.com\nops@example.com"} hint="One per line or separated by commas; up to 50." value={emails} onInput={(e) => setEmails(e.currentTarget.value)} />
      )}
      <ErrorNote error={create.error} />
      <button class="btn primary" type="submit" disabled={create.busy}>
        Create channel
      </button>
    </form>
  );
}

type TestState = { phase: "sending" } | { phase: "waiting"; queued: number } | { phase: "done"; delivery: Delivery } | { phase: "queued"; queued: number; note: string } | { phase: "error"; error: unknown };

/** Sends a test through `channel` and, for webhooks and Slack, polls its deliveries until
 * the test's one has been delivered or has failed (or 20 s have passed). */
function useChannelTest(channel: Channel, onDelivery: () => void) {
  const [state, setState] = useState<TestState | null>(null);
  const alive = useRef(true);
  useEffect(
    () => () => {
      alive.current = false;
    },
    [],
  );
  const run = async () => {
    setState({ phase: "sending" });
    try {
      const before = await get<{ deliveries: Delivery[] }>(`/api/v1/notification-channels/${channel.id}/deliveries`);
      const known = new Set(before.deliveries.map((d) => d.id));
      const { queued } = await post<{ queued: number }>(`/api/v1/notification-channels/${channel.id}/test`);
      if (channel.kind === "email") {
        setState({ phase: "queued", queued, note: "Emails go through the mail server's queue; without one they wait in the outbox (Users and invites)." });
        return;
      }
      setState({ phase: "waiting", queued });
      onDelivery();
      const deadline = Date.now() + 20_000;
      while (alive.current && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 700));
        const now = await get<{ deliveries: Delivery[] }>(`/api/v1/notification-channels/${channel.id}/deliveries`);
        const mine = now.deliveries.find((d) => !known.has(d.id));
        if (mine && mine.status !== "pending") {
          setState({ phase: "done", delivery: mine });
          onDelivery();
          return;
        }
        if (mine && mine.attempts > 0 && mine.last_error) {
          // Retrying: say why now rather than after every retry.
          setState({ phase: "done", delivery: mine });
          onDelivery();
          return;
        }
      }
      if (alive.current) setState({ phase: "queued", queued, note: "Still queued: the result will appear under Deliveries." });
    } catch (error) {
      setState({ phase: "error", error });
    }
  };
  return { state, run };
}

function TestResult({ state }: { state: TestState | null }) {
  if (!state) return null;
  switch (state.phase) {
    case "sending":
      return <span class="muted">Sending…</span>;
    case "waiting":
      return <span class="muted">Queued; waiting for the delivery…</span>;
    case "queued":
      return (
        <span class="muted" role="status">
          Queued {state.queued} message{state.queued === 1 ? "" : "s"}. {state.note}
        </span>
      );
    case "error":
      return <ErrorNote error={state.error} />;
    case "done": {
      const d = state.delivery;
      return (
        <span role="status" class="test-result">
          Test: <Badge tone={deliveryTone(d.status)}>{d.status === "pending" ? "retrying" : d.status}</Badge>
          {d.last_error && <span class="muted"> {d.last_error}</span>}
        </span>
      );
    }
  }
}

function ChannelRow({ channel, selected, onChanged, onDelivery }: { channel: Channel; selected: boolean; onChanged: () => void; onDelivery: () => void }) {
  const test = useChannelTest(channel, onDelivery);
  const target =
    channel.kind === "webhook" ? (
      <>
        <code>{channel.url}</code>
        {channel.has_secret && <span class="muted"> · signed</span>}
      </>
    ) : channel.kind === "slack" ? (
      <span class="muted">Slack URL stored encrypted</span>
    ) : (
      (channel.emails ?? []).join(", ")
    );
  return (
    <tr class={selected ? "selected" : ""}>
      <td>{channel.name}</td>
      <td>
        <Badge tone="muted">{channel.kind}</Badge>
      </td>
      <td class="wrap">{target}</td>
      <td>
        <When at={channel.created_at} />
        <div class="muted small">{channel.created_by}</div>
      </td>
      <td class="num">
        <div class="row-actions">
          <button type="button" class="btn small" disabled={test.state?.phase === "sending" || test.state?.phase === "waiting"} onClick={() => void test.run()}>
            Send test
          </button>
          {channel.kind !== "email" && (
            <Link href={`/settings/channels?channel=${channel.id}`} class="btn small" aria-current={selected ? "true" : undefined}>
              Deliveries
            </Link>
          )}
          <ConfirmButton
            label="Delete"
            question={`Delete the channel ${channel.name}? Alerts stop notifying it.`}
            confirmLabel="Delete channel"
            onConfirm={async () => {
              await del(`/api/v1/notification-channels/${channel.id}`);
              if (selected) setParams({ channel: null }, { replace: true });
              onChanged();
            }}
          />
        </div>
        <div class="test-line">
          <TestResult state={test.state} />
        </div>
      </td>
    </tr>
  );
}

function Deliveries({ channel, version }: { channel: Channel; version: number }) {
  const list = useLoad((signal) => get<{ deliveries: Delivery[] }>(`/api/v1/notification-channels/${channel.id}/deliveries`, { signal }), [channel.id, version]);
  const rows = list.data?.deliveries ?? [];
  return (
    <section class="card" aria-label={`Deliveries of ${channel.name}`}>
      <header class="card-head">
        <h2>Deliveries of {channel.name}</h2>
        <span class="muted">latest 100</span>
        <div class="actions">
          <button type="button" class="btn small" onClick={list.reload}>
            Refresh
          </button>
          <button type="button" class="btn small" onClick={() => setParams({ channel: null })}>
            Close
          </button>
        </div>
      </header>
      <ErrorNote error={list.error} />
      {list.loading && !list.data && <Loading />}
      {list.data && rows.length === 0 && <Empty>Nothing sent to this channel yet. Use “Send test” to try it.</Empty>}
      {rows.length > 0 && (
        <table class="table">
          <thead>
            <tr>
              <th>Created</th>
              <th>Event</th>
              <th>Status</th>
              <th class="num">Attempts</th>
              <th>Delivered</th>
              <th>Last error</th>
              <th>Payload</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((d) => (
              <tr key={d.id}>
                <td>
                  <When at={d.created_at} />
                </td>
                <td>
                  <code>{d.event}</code>
                </td>
                <td>
                  <Badge tone={deliveryTone(d.status)}>{d.status}</Badge>
                  {d.status === "pending" && d.attempts > 0 && (
                    <div class="muted small">
                      next try <When at={d.next_attempt_at} />
                    </div>
                  )}
                </td>
                <td class="num">{d.attempts}</td>
                <td>
                  <When at={d.delivered_at} empty="–" />
                </td>
                <td class="wrap">{d.last_error ?? <span class="muted">–</span>}</td>
                <td>
                  <details>
                    <summary>Show</summary>
                    {tryParseJson(d.payload) !== undefined ? <JsonView value={tryParseJson(d.payload)} /> : <pre class="json">{d.payload}</pre>}
                  </details>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function ChannelsSection() {
  const [n, setN] = useState(0);
  const [deliveryVersion, setDeliveryVersion] = useState(0);
  const channels = useLoad((signal) => get<{ notification_channels: Channel[] }>("/api/v1/notification-channels", { signal }), [n]);
  const list = channels.data?.notification_channels ?? [];
  const selectedId = location.value.query.get("channel");
  const selected = list.find((c) => c.id === selectedId);
  return (
    <div class="stack">
      <SectionHead title="Notification channels" intro="Where alerts and heartbeat failures are sent. Every channel of the organization gets heartbeat failures; alert rules pick theirs." />
      <CreateChannel onCreated={() => setN((x) => x + 1)} />
      <section class="card" aria-label="Channels">
        <ErrorNote error={channels.error} />
        {channels.loading && !channels.data && <Loading />}
        {channels.data && list.length === 0 && <Empty>No channels yet. Create a webhook, Slack or email channel above.</Empty>}
        {list.length > 0 && (
          <table class="table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Kind</th>
                <th>Sends to</th>
                <th>Created</th>
                <th class="num">Actions</th>
              </tr>
            </thead>
            <tbody>
              {list.map((c) => (
                <ChannelRow key={c.id} channel={c} selected={c.id === selectedId} onChanged={() => setN((x) => x + 1)} onDelivery={() => setDeliveryVersion((x) => x + 1)} />
              ))}
            </tbody>
          </table>
        )}
      </section>
      {selected && <Deliveries channel={selected} version={deliveryVersion} />}
      {channels.data && selectedId && !selected && <Empty>That channel no longer exists.</Empty>}
    </div>
  );
}
