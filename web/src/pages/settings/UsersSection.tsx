// Settings › Users and invites: the org's people with their roles (admins change roles and
// remove people), invites (create with email and role, the link shown when made, revoke
// pending ones) and the outbox, where invite emails wait when no mail server is set up.
import { useState } from "preact/hooks";
import { Badge, CopyButton, Empty, ErrorNote, Field, Loading, SelectField } from "../../components/ui";
import { del, get, patch, post, withQuery } from "../../lib/api";
import { useLoad } from "../../lib/hooks";
import { location, setParams } from "../../lib/router";
import { currentUser, isAdmin, type Role, type User } from "../../lib/session";
import { ConfirmButton, SectionHead, useAction, When } from "./common";

const ROLES: Role[] = ["viewer", "editor", "admin"];
const ROLE_HELP: Record<Role, string> = {
  viewer: "reads and runs queries",
  editor: "also changes dashboards, saved queries, alerts and annotations",
  admin: "everything, including people, keys and settings",
};

interface Invite {
  id: string;
  email: string;
  role: Role;
  status: "pending" | "accepted" | "revoked" | "expired";
  created_at: string;
  expires_at: string;
  invited_by: { name: string };
}
interface CreatedInvite extends Invite {
  invite_url: string;
  email_message: { id: string; status: string };
}
interface OutboxMessage {
  id: string;
  created_at: string;
  recipient: string;
  subject: string;
  body: string;
  status: string;
  attempts: number;
  last_error: string | null;
  sent_at: string | null;
}

function RoleCell({ user, onChanged }: { user: User; onChanged: () => void }) {
  const change = useAction(async (role: Role) => {
    await patch<User>(`/api/v1/users/${user.id}`, { role });
    // Your own role changed: the rest of the UI follows at once.
    if (user.id === currentUser.value?.id) currentUser.value = { ...currentUser.value, role };
    onChanged();
  });
  return (
    <>
      <label class="sr-only" for={`role-${user.id}`}>
        Role of {user.email}
      </label>
      <select id={`role-${user.id}`} value={user.role} disabled={change.busy} onChange={(e) => void change.run(e.currentTarget.value as Role)}>
        {ROLES.map((r) => (
          <option value={r}>{r}</option>
        ))}
      </select>
      <ErrorNote error={change.error} />
    </>
  );
}

function UsersTable() {
  const users = useLoad((signal) => get<{ users: User[] }>("/api/v1/users", { signal }), []);
  const admin = isAdmin.value;
  return (
    <section class="card" aria-label="Users">
      <header class="card-head">
        <h2>Users</h2>
        <span class="muted">{users.data ? `${users.data.users.length} in this organization` : ""}</span>
      </header>
      <ErrorNote error={users.error} />
      {users.loading && !users.data && <Loading />}
      {users.data && (
        <table class="table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Email</th>
              <th>Role</th>
              <th>Joined</th>
              {admin && <th class="num">Actions</th>}
            </tr>
          </thead>
          <tbody>
            {users.data.users.map((u) => (
              <tr key={u.id}>
                <td>
                  {u.name}
                  {u.id === currentUser.value?.id && <span class="muted"> (you)</span>}
                </td>
                <td>{u.email}</td>
                <td>{admin ? <RoleCell user={u} onChanged={users.reload} /> : <Badge tone={u.role === "admin" ? "info" : "muted"}>{u.role}</Badge>}</td>
                <td>
                  <When at={u.created_at} />
                </td>
                {admin && (
                  <td class="num">
                    {u.id !== currentUser.value?.id && <ConfirmButton
                      label="Remove"
                      question={`Remove ${u.email}? They are signed out at once.`}
                      confirmLabel="Remove user"
                      onConfirm={async () => {
                        await del(`/api/v1/users/${u.id}`);
                        users.reload();
                      }}
                    />}
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <p class="muted small">
        Roles: {ROLES.map((r) => `${r} ${ROLE_HELP[r]}`).join("; ")}. The last admin cannot be removed or demoted.
      </p>
    </section>
  );
}

function InviteForm({ onCreated }: { onCreated: (invite: CreatedInvite) => void }) {
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<Role>("viewer");
  const create = useAction(async () => {
    const invite = await post<CreatedInvite>("/api/v1/invites", { email: email.trim(), role });
    setEmail("");
    onCreated(invite);
  });
  return (
    <form
      class="row invite-form"
      onSubmit={(e) => {
        e.preventDefault();
        void create.run();
      }}
    >
      <Field label="Email" type="email" required placeholder="name@example.com" value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
      <SelectField label="Role" value={role} onChange={(e) => setRole(e.currentTarget.value as Role)} options={ROLES} />
      <div class="field row-buttons">
        <button class="btn primary" type="submit" disabled={create.busy}>
          Send invite
        </button>
      </div>
      <div class="full">
        <ErrorNote error={create.error} />
      </div>
    </form>
  );
}

function NewInvite({ invite, onClose }: { invite: CreatedInvite; onClose: () => void }) {
  const mailed = invite.email_message.status !== "not_sent";
  return (
    <section class="secret-box" aria-label="New invite link">
      <p>
        <strong>Invite created for {invite.email}</strong> as {invite.role}.{" "}
        {mailed ? "The email is queued for the mail server; you can also send the link yourself:" : "No mail server is configured, so send them this link yourself (it is also in the outbox below):"}
      </p>
      <div class="secret-line">
        <code data-copy={invite.invite_url}>{invite.invite_url}</code>
        <CopyButton text={invite.invite_url} label="Copy link" />
      </div>
      <p class="muted">
        The link works once and expires <When at={invite.expires_at} />.
      </p>
      <button type="button" class="btn small" onClick={onClose}>
        Done
      </button>
    </section>
  );
}

function Invites() {
  const all = location.value.query.get("invites") === "all";
  const [created, setCreated] = useState<CreatedInvite | null>(null);
  const invites = useLoad((signal) => get<{ invites: Invite[] }>(withQuery("/api/v1/invites", { limit: 200 }), { signal }), [created?.id]);
  const shown = invites.data?.invites.filter((i) => all || i.status === "pending") ?? [];
  return (
    <section class="card" aria-label="Invites">
      <header class="card-head">
        <h2>Invites</h2>
        <div class="actions">
          <label class="inline">
            <input type="checkbox" checked={all} onChange={(e) => setParams({ invites: e.currentTarget.checked ? "all" : null }, { replace: true })} />
            Show accepted, revoked and expired
          </label>
        </div>
      </header>
      <InviteForm onCreated={setCreated} />
      {created && <NewInvite invite={created} onClose={() => setCreated(null)} />}
      <ErrorNote error={invites.error} />
      {invites.loading && !invites.data && <Loading />}
      {invites.data &&
        (shown.length === 0 ? (
          <Empty>{all ? "No invites yet." : "No pending invites. Invite someone by email above."}</Empty>
        ) : (
          <table class="table">
            <thead>
              <tr>
                <th>Email</th>
                <th>Role</th>
                <th>Status</th>
                <th>Invited by</th>
                <th>Sent</th>
                <th>Expires</th>
                <th class="num">Actions</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((i) => (
                <tr key={i.id}>
                  <td>{i.email}</td>
                  <td>{i.role}</td>
                  <td>
                    <Badge tone={i.status === "pending" ? "info" : i.status === "accepted" ? "ok" : "muted"}>{i.status}</Badge>
                  </td>
                  <td>{i.invited_by.name}</td>
                  <td>
                    <When at={i.created_at} />
                  </td>
                  <td>
                    <When at={i.expires_at} />
                  </td>
                  <td class="num">
                    {i.status === "pending" && (
                      <ConfirmButton
                        label="Revoke"
                        question={`Revoke the invite for ${i.email}?`}
                        confirmLabel="Revoke invite"
                        onConfirm={async () => {
                          await del(`/api/v1/invites/${i.id}`);
                          invites.reload();
                        }}
                      />
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ))}
      <Outbox refresh={created?.id} />
    </section>
  );
}

function Outbox({ refresh }: { refresh?: string }) {
  const outbox = useLoad((signal) => get<{ messages: OutboxMessage[] }>(withQuery("/api/v1/outbox", { limit: 20 }), { signal }), [refresh]);
  const messages = outbox.data?.messages ?? [];
  return (
    <details class="outbox">
      <summary>Outbox: invite emails the server produced ({outbox.data ? messages.length : "…"})</summary>
      <ErrorNote error={outbox.error} />
      {outbox.data && messages.length === 0 && <Empty>No messages yet.</Empty>}
      {messages.length > 0 && (
        <table class="table">
          <thead>
            <tr>
              <th>Created</th>
              <th>To</th>
              <th>Subject</th>
              <th>Status</th>
              <th>Message</th>
            </tr>
          </thead>
          <tbody>
            {messages.map((m) => (
              <tr key={m.id}>
                <td>
                  <When at={m.created_at} />
                </td>
                <td>{m.recipient}</td>
                <td>{m.subject}</td>
                <td>
                  <Badge tone={m.status === "sent" ? "ok" : m.status === "failed" ? "bad" : "muted"}>{m.status.replace("_", " ")}</Badge>
                  {m.last_error && <div class="muted small">{m.last_error}</div>}
                </td>
                <td>
                  <details>
                    <summary>Show</summary>
                    <pre class="json">{m.body}</pre>
                  </details>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </details>
  );
}

export function UsersSection() {
  return (
    <div class="stack">
      <SectionHead title="Users and invites" intro={isAdmin.value ? "Invite people by email, set their roles, remove them." : "The people in this organization. Admins manage roles and invites."} />
      <UsersTable />
      {isAdmin.value && <Invites />}
    </div>
  );
}
