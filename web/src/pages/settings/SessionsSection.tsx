// Settings › Sessions: where you are signed in. This one is marked; any other can be
// ended at once (it is refused from its next request), or all others together.
import { Badge, Empty, ErrorNote, Loading } from "../../components/ui";
import { del, get } from "../../lib/api";
import { useLoad } from "../../lib/hooks";
import { signOut } from "../../lib/session";
import { describeAgent } from "./agent";
import { ConfirmButton, SectionHead, When } from "./common";

interface Session {
  id: string;
  created_at: string;
  last_seen_at: string;
  expires_at: string;
  client_addr: string | null;
  user_agent: string | null;
  current: boolean;
}

export function SessionsSection() {
  const sessions = useLoad((signal) => get<{ sessions: Session[] }>("/api/v1/sessions", { signal }), []);
  const list = sessions.data?.sessions ?? [];
  const others = list.filter((s) => !s.current);
  return (
    <div class="stack">
      <SectionHead title="Sessions" intro="Browsers and clients signed in as you. End any you do not recognise, then change your password.">
        {others.length > 1 && (
          <ConfirmButton
            label="Sign out all other sessions"
            question={`End ${others.length} other sessions?`}
            confirmLabel="End them"
            onConfirm={async () => {
              await Promise.all(others.map((s) => del(`/api/v1/sessions/${s.id}`)));
              sessions.reload();
            }}
          />
        )}
      </SectionHead>
      <section class="card" aria-label="Your sessions">
        <ErrorNote error={sessions.error} />
        {sessions.loading && !sessions.data && <Loading />}
        {sessions.data && list.length === 0 && <Empty>No live sessions.</Empty>}
        {list.length > 0 && (
          <table class="table">
            <thead>
              <tr>
                <th>Client</th>
                <th>Address</th>
                <th>Signed in</th>
                <th>Last active</th>
                <th>Expires</th>
                <th class="num">Actions</th>
              </tr>
            </thead>
            <tbody>
              {list.map((s) => (
                <tr key={s.id}>
                  <td>
                    <span title={s.user_agent ?? undefined}>{describeAgent(s.user_agent)}</span> {s.current && <Badge tone="ok">This session</Badge>}
                  </td>
                  <td>{s.client_addr ?? <span class="muted">unknown</span>}</td>
                  <td>
                    <When at={s.created_at} />
                  </td>
                  <td>
                    <When at={s.last_seen_at} />
                  </td>
                  <td>
                    <When at={s.expires_at} />
                  </td>
                  <td class="num">
                    {s.current ? (
                      <button type="button" class="btn small" onClick={() => void signOut()}>
                        Sign out here
                      </button>
                    ) : (
                      <ConfirmButton
                        label="Revoke"
                        question="End this session?"
                        confirmLabel="Revoke session"
                        onConfirm={async () => {
                          await del(`/api/v1/sessions/${s.id}`);
                          sessions.reload();
                        }}
                      />
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </div>
  );
}
