// Sign in, with the TOTP step: the server answers `totp_required` and the Code field
// appears; `?next=` returns to the page that needed a session.
import { useState } from "preact/hooks";
import { Field } from "../../components/ui";
import { useTitle } from "../../lib/hooks";
import { Link, navigate, param } from "../../lib/router";
import { safeNext } from "../../lib/safeNext";
import { SignInError, sessionState, signIn } from "../../lib/session";

export default function Login() {
  useTitle("Sign in");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [code, setCode] = useState("");
  const [needCode, setNeedCode] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const next = safeNext(param("next"));
  if (sessionState.value === "signed-in" && !busy) queueMicrotask(() => navigate(next, { replace: true }));

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signIn(email, password, needCode ? code : undefined);
      navigate(next, { replace: true });
    } catch (err) {
      if (err instanceof SignInError && err.code === "totp_required") {
        setNeedCode(true);
        setError(null);
      } else setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="auth">
      <form class="auth-card" onSubmit={submit}>
        <h1>
          <img src="/favicon.svg" alt="" width={28} height={28} /> Sign in to Hexcovery
        </h1>
        <Field label="Email" type="email" autocomplete="username" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
        <Field label="Password" type="password" autocomplete="current-password" required value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
        {needCode && (
          <Field
            label="Code"
            inputMode="numeric"
            autocomplete="one-time-code"
            autoFocus
            required
            value={code}
            onInput={(e) => setCode(e.currentTarget.value)}
            hint="The 6-digit code from your authenticator app, or a recovery code."
          />
        )}
        {error && (
          <div class="error-note" role="alert">
            {error}
          </div>
        )}
        <button class="btn primary wide" type="submit" disabled={busy}>
          Sign in
        </button>
        <p class="muted">
          New here? <Link href="/signup">Create an organization</Link>
        </p>
      </form>
    </div>
  );
}
