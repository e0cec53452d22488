// Accept an invite (`/invite?token=`): choose a name and password, then sign in.
import { useState } from "preact/hooks";
import { Field } from "../../components/ui";
import { useTitle } from "../../lib/hooks";
import { Link, navigate, param } from "../../lib/router";
import { acceptInvite, sessionState } from "../../lib/session";

export default function Invite() {
  useTitle("Accept invite");
  const token = param("token") ?? "";
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      await acceptInvite(token, name, password);
      if (sessionState.value === "signed-in") navigate("/", { replace: true });
      else setDone(true);
    } catch (err) {
      setError((err as Error).message);
    }
  };

  if (!token) {
    return (
      <div class="auth">
        <div class="auth-card">
          <h1>Accept invite</h1>
          <p class="error-note" role="alert">
            This link has no invite token. Open the link from the invite email again.
          </p>
        </div>
      </div>
    );
  }
  return (
    <div class="auth">
      <form class="auth-card" onSubmit={submit}>
        <h1>Join your team on Hexcovery</h1>
        {done ? (
          <p>
            Your account is ready. <Link href="/login">Sign in</Link>
          </p>
        ) : (
          <>
            <Field label="Your name" required autocomplete="name" value={name} onInput={(e) => setName(e.currentTarget.value)} />
            <Field label="Password" type="password" required autocomplete="new-password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} hint="At least 12 characters." />
            {error && (
              <div class="error-note" role="alert">
                {error}
              </div>
            )}
            <button class="btn primary wide" type="submit">
              Accept invite
            </button>
          </>
        )}
      </form>
    </div>
  );
}
