// Create an organization and its first admin (when the server allows signup).
import { useState } from "preact/hooks";
import { Field } from "../../components/ui";
import { useTitle } from "../../lib/hooks";
import { Link, navigate } from "../../lib/router";
import { signUp } from "../../lib/session";

/** A slug suggestion from an organization name: lower case, dashes, at most 40 chars. */
export function slugify(name: string): string {
  return name
    .toLowerCase()
    .normalize("NFKD")
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 40);
}

export default function Signup() {
  useTitle("Create an organization");
  const [f, setF] = useState({ org_name: "", org_slug: "", name: "", email: "", password: "" });
  const [slugEdited, setSlugEdited] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const set = (k: keyof typeof f) => (e: { currentTarget: HTMLInputElement }) => setF({ ...f, [k]: e.currentTarget.value });

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signUp(f);
      navigate("/", { replace: true });
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="auth">
      <form class="auth-card" onSubmit={submit}>
        <h1>Create an organization</h1>
        <Field
          label="Organization name"
          required
          value={f.org_name}
          onInput={(e) => {
            const org_name = e.currentTarget.value;
            setF({ ...f, org_name, org_slug: slugEdited ? f.org_slug : slugify(org_name) });
          }}
        />
        <Field
          label="Organization slug"
          required
          value={f.org_slug}
          onInput={(e) => {
            setSlugEdited(true);
            set("org_slug")(e);
          }}
          hint="Lower-case letters, digits and dashes."
        />
        <Field label="Your name" required autocomplete="name" value={f.name} onInput={set("name")} />
        <Field label="Email" type="email" required autocomplete="email" value={f.email} onInput={set("email")} />
        <Field label="Password" type="password" required autocomplete="new-password" value={f.password} onInput={set("password")} hint="At least 12 characters." />
        {error && (
          <div class="error-note" role="alert">
            {error}
          </div>
        )}
        <button class="btn primary wide" type="submit" disabled={busy}>
          Create organization
        </button>
        <p class="muted">
          Already have an account? <Link href="/login">Sign in</Link>
        </p>
      </form>
    </div>
  );
}
