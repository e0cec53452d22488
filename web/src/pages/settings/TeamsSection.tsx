// Settings › Teams: groups of users inside the org. Everyone sees them; admins create,
// rename and delete teams and add or remove members.
import { useState } from "preact/hooks";
import { Empty, ErrorNote, Field, Loading } from "../../components/ui";
import { del, get, patch, post } from "../../lib/api";
import { useLoad } from "../../lib/hooks";
import { isAdmin, type User } from "../../lib/session";
import { ConfirmButton, SectionHead, useAction } from "./common";

interface Team {
  id: string;
  name: string;
  members: { user_id: string; email: string; name: string }[];
  created_at: string;
  updated_at: string;
}

function CreateTeam({ onCreated }: { onCreated: () => void }) {
  const [name, setName] = useState("");
  const create = useAction(async () => {
    await post("/api/v1/teams", { name: name.trim() });
    setName("");
    onCreated();
  });
  return (
    <form
      class="card row"
      aria-label="Create a team"
      onSubmit={(e) => {
        e.preventDefault();
        void create.run();
      }}
    >
      <Field label="Team name" required maxLength={100} placeholder="e.g. Payments on-call" value={name} onInput={(e) => setName(e.currentTarget.value)} />
      <div class="field row-buttons">
        <button class="btn primary" type="submit" disabled={create.busy}>
          Create team
        </button>
      </div>
      <div class="full">
        <ErrorNote error={create.error} />
      </div>
    </form>
  );
}

function TeamCard({ team, users, onChanged }: { team: Team; users: User[]; onChanged: () => void }) {
  const admin = isAdmin.value;
  const [renaming, setRenaming] = useState(false);
  const [name, setName] = useState(team.name);
  const [adding, setAdding] = useState("");
  const change = useAction(async (body: Record<string, unknown>) => {
    await patch(`/api/v1/teams/${team.id}`, body);
    onChanged();
  });
  const memberIds = new Set(team.members.map((m) => m.user_id));
  const candidates = users.filter((u) => !memberIds.has(u.id));
  return (
    <section class="card" aria-label={team.name}>
      <header class="card-head">
        {renaming ? (
          <form
            class="row grow"
            onSubmit={async (e) => {
              e.preventDefault();
              if (await change.run({ name: name.trim() })) setRenaming(false);
            }}
          >
            <Field label="New team name" required maxLength={100} value={name} onInput={(e) => setName(e.currentTarget.value)} />
            <div class="field row-buttons">
              <button class="btn primary small" type="submit" disabled={change.busy}>
                Save name
              </button>
              <button class="btn small" type="button" onClick={() => setRenaming(false)}>
                Cancel
              </button>
            </div>
          </form>
        ) : (
          <h2>{team.name}</h2>
        )}
        <span class="muted">
          {team.members.length} member{team.members.length === 1 ? "" : "s"}
        </span>
        {admin && !renaming && (
          <div class="actions">
            <button
              type="button"
              class="btn small"
              onClick={() => {
                setName(team.name);
                setRenaming(true);
              }}
            >
              Rename
            </button>
            <ConfirmButton
              label="Delete"
              question={`Delete the team ${team.name}? Its members stay in the organization.`}
              confirmLabel="Delete team"
              onConfirm={async () => {
                await del(`/api/v1/teams/${team.id}`);
                onChanged();
              }}
            />
          </div>
        )}
      </header>
      {team.members.length === 0 ? (
        <p class="muted">{admin ? "No members yet: add someone below." : "No members yet."}</p>
      ) : (
        <table class="table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Email</th>
              {admin && <th class="num">Actions</th>}
            </tr>
          </thead>
          <tbody>
            {team.members.map((m) => (
              <tr key={m.user_id}>
                <td>{m.name}</td>
                <td>{m.email}</td>
                {admin && (
                  <td class="num">
                    <button type="button" class="btn small danger" disabled={change.busy} onClick={() => void change.run({ remove_members: [m.user_id] })}>
                      Remove
                    </button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {admin && (
        <form
          class="row add-member"
          onSubmit={async (e) => {
            e.preventDefault();
            if (adding && (await change.run({ add_members: [adding] }))) setAdding("");
          }}
        >
          <div class="field">
            <label for={`add-${team.id}`}>Add member</label>
            <select id={`add-${team.id}`} value={adding} onChange={(e) => setAdding(e.currentTarget.value)} disabled={candidates.length === 0}>
              <option value="">{candidates.length ? "Choose a user…" : "Everyone is a member"}</option>
              {candidates.map((u) => (
                <option value={u.id}>
                  {u.name} ({u.email})
                </option>
              ))}
            </select>
          </div>
          <div class="field row-buttons">
            <button class="btn" type="submit" disabled={!adding || change.busy}>
              Add
            </button>
          </div>
        </form>
      )}
      <ErrorNote error={change.error} />
    </section>
  );
}

export function TeamsSection() {
  const [n, setN] = useState(0);
  const teams = useLoad((signal) => get<{ teams: Team[] }>("/api/v1/teams", { signal }), [n]);
  const users = useLoad((signal) => get<{ users: User[] }>("/api/v1/users", { signal }), []);
  const reload = () => setN((x) => x + 1);
  const list = teams.data?.teams ?? [];
  return (
    <div class="stack">
      <SectionHead title="Teams" intro="Teams group people inside the organization." />
      {isAdmin.value && <CreateTeam onCreated={reload} />}
      <ErrorNote error={teams.error ?? users.error} />
      {teams.loading && !teams.data && <Loading />}
      {teams.data && list.length === 0 && <Empty>{isAdmin.value ? "No teams yet. Create one above." : "No teams yet. An admin can create them."}</Empty>}
      <div class="grid teams-grid">
        {list.map((t) => (
          <TeamCard key={`${t.id}-${t.updated_at}`} team={t} users={users.data?.users ?? []} onChanged={reload} />
        ))}
      </div>
    </div>
  );
}
