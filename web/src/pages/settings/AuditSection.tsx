// Settings › Audit log (admin): security-relevant events, newest first, filtered by actor,
// action (a trailing * matches a prefix) and time; the filters and the page cursor live in
// the URL so a view can be shared.
import { useEffect, useState } from "preact/hooks";
import { Badge, Empty, ErrorNote, Field, Loading } from "../../components/ui";
import { get, withQuery } from "../../lib/api";
import { useLoad } from "../../lib/hooks";
import { location, setParams } from "../../lib/router";
import { auditQuery, detailText, KNOWN_ACTIONS, shortTarget, type AuditFilters } from "./audit";
import { SectionHead, When } from "./common";

interface AuditEvent {
  id: string;
  time: string;
  actor: { kind: "user" | "api_key" | "anonymous"; id: string | null; name: string };
  action: string;
  target: string | null;
  outcome: "success" | "failure";
  client_addr: string | null;
  detail: unknown;
}

const KEYS = ["actor", "action", "from", "to"] as const;

// Cursors of the pages before this one, so "Newer" can step back (cursors only go older).
const trail: string[] = [];

export function AuditSection() {
  const q = location.value.query;
  const filters: AuditFilters = { actor: q.get("actor") ?? "", action: q.get("action") ?? "", from: q.get("from") ?? "", to: q.get("to") ?? "" };
  const before = q.get("before");
  const [draft, setDraft] = useState<AuditFilters>(filters);
  const filterKey = KEYS.map((k) => filters[k]).join("\u0000");
  const key = `${filterKey}|${before ?? ""}`;
  // The form follows the URL (Back, or a click on an actor or action in the table).
  useEffect(() => setDraft(filters), [filterKey]);
  const events = useLoad(
    async (signal) => {
      const query = auditQuery(filters, before);
      return get<{ audit_events: AuditEvent[]; next_cursor: string | null }>(withQuery("/api/v1/audit", query), { signal });
    },
    [key],
  );
  const apply = (f: AuditFilters) => {
    trail.length = 0;
    setParams({ ...f, before: null });
  };
  const list = events.data?.audit_events ?? [];
  const filtered = KEYS.some((k) => filters[k]);
  return (
    <div class="stack">
      <SectionHead title="Audit log" intro="Sign-ins, 2FA, invites, roles, keys, settings and every change to dashboards, alerts and channels, with who did it and from where." />
      <form
        class="card audit-filters"
        aria-label="Audit filters"
        onSubmit={(e) => {
          e.preventDefault();
          apply(draft);
        }}
      >
        <div class="row">
          <Field label="Actor" placeholder="email, key name or id" value={draft.actor} onInput={(e) => setDraft({ ...draft, actor: e.currentTarget.value })} />
          <Field label="Action" list="audit-actions" placeholder="e.g. auth.* or api_key.create" value={draft.action} onInput={(e) => setDraft({ ...draft, action: e.currentTarget.value })} />
          <Field label="From" placeholder="now-24h or 2026-11-22T10:00:00Z" value={draft.from} onInput={(e) => setDraft({ ...draft, from: e.currentTarget.value })} />
          <Field label="To" placeholder="now" value={draft.to} onInput={(e) => setDraft({ ...draft, to: e.currentTarget.value })} />
          <div class="field row-buttons">
            <button class="btn primary" type="submit">
              Apply
            </button>
            {filtered && (
              <button
                type="button"
                class="btn"
                onClick={() => {
                  const none = { actor: "", action: "", from: "", to: "" };
                  setDraft(none);
                  apply(none);
                }}
              >
                Clear
              </button>
            )}
          </div>
        </div>
        <datalist id="audit-actions">
          {KNOWN_ACTIONS.map((a) => (
            <option value={a} />
          ))}
        </datalist>
      </form>
      <section class="card" aria-label="Audit events">
        <ErrorNote error={events.error} />
        {events.loading && !events.data && <Loading />}
        {events.data && list.length === 0 && <Empty>{filtered ? "No events match these filters. Widen the time range or clear a filter." : "No events recorded yet."}</Empty>}
        {list.length > 0 && (
          <table class="table audit-table">
            <thead>
              <tr>
                <th>Time</th>
                <th>Actor</th>
                <th>Action</th>
                <th>Target</th>
                <th>Outcome</th>
                <th>Client</th>
                <th>Detail</th>
              </tr>
            </thead>
            <tbody>
              {list.map((e) => (
                <tr key={e.id}>
                  <td class="nowrap">
                    <When at={e.time} />
                  </td>
                  <td>
                    <button type="button" class="link" title="Show only this actor" onClick={() => apply({ ...filters, actor: e.actor.name })}>
                      {e.actor.name}
                    </button>
                    {e.actor.kind !== "user" && <span class="muted small"> ({e.actor.kind === "api_key" ? "API key" : "anonymous"})</span>}
                  </td>
                  <td>
                    <button type="button" class="link mono" title="Show only this action" onClick={() => apply({ ...filters, action: e.action })}>
                      {e.action}
                    </button>
                  </td>
                  <td class="mono nowrap" title={e.target ?? undefined}>
                    {shortTarget(e.target)}
                  </td>
                  <td>
                    <Badge tone={e.outcome === "success" ? "ok" : "bad"}>{e.outcome}</Badge>
                  </td>
                  <td class="mono">{e.client_addr ?? "–"}</td>
                  <td class="mono wrap detail">{detailText(e.detail)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <nav class="pager" aria-label="Audit pages">
          <button type="button" class="btn small" disabled={!before} onClick={() => { trail.length = 0; setParams({ before: null }); }}>
            Newest
          </button>
          <button type="button" class="btn small" disabled={!before} onClick={() => setParams({ before: trail.pop() ?? null })}>
            Newer
          </button>
          <button
            type="button"
            class="btn small"
            disabled={!events.data?.next_cursor}
            onClick={() => {
              trail.push(before ?? "");
              setParams({ before: events.data!.next_cursor });
            }}
          >
            Older
          </button>
        </nav>
      </section>
    </div>
  );
}
