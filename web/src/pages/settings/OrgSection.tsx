// Settings › Organization: name, slug, contact email, retention, the error-rate thresholds
// the overview colours services by, and the AI provider (its key write-only). Admins edit;
// everyone else reads.
import { useEffect, useRef, useState } from "preact/hooks";
import { ErrorNote, Field, Loading } from "../../components/ui";
import { ApiError, get, patch } from "../../lib/api";
import { useLoad } from "../../lib/hooks";
import { isAdmin, setOrg, type Org } from "../../lib/session";
import { Done, SectionHead, useAction, When } from "./common";
import { draftOf, orgPatch, type OrgDraft } from "./orgForm";

type AiProviderView = NonNullable<Org["ai_provider"]> & { api_key?: string };

function ReadOnly({ org }: { org: Org }) {
  const ai = org.ai_provider as AiProviderView | null | undefined;
  return (
    <section class="card" aria-label="Organization details">
      <dl class="kv settings-kv">
        <dt>Organization name</dt>
        <dd>{org.name}</dd>
        <dt>Organization slug</dt>
        <dd>{org.slug}</dd>
        <dt>Contact email</dt>
        <dd>{org.email}</dd>
        <dt>Retention</dt>
        <dd>{org.retention_days} days</dd>
        <dt>Error rate thresholds</dt>
        <dd>
          warning at {org.error_rate_thresholds.warning}%, critical at {org.error_rate_thresholds.critical}%
        </dd>
        <dt>AI provider</dt>
        <dd>{ai ? `${ai.provider} · ${ai.model}${ai.base_url ? ` · ${ai.base_url}` : ""}` : "none"}</dd>
        <dt>Updated</dt>
        <dd>
          <When at={org.updated_at} />
        </dd>
      </dl>
      <p class="muted">Only admins change these settings.</p>
    </section>
  );
}

function Editor({ org, onSaved }: { org: Org; onSaved: (org: Org) => void }) {
  const [draft, setDraft] = useState<OrgDraft>(() => draftOf(org));
  const [problem, setProblem] = useState<{ error: string; field?: string } | null>(null);
  const [saved, setSaved] = useState(false);
  // A newly saved or reloaded org replaces the draft; the first render already used it, so
  // an edit typed before this effect runs is kept.
  const shownOrg = useRef(org);
  useEffect(() => {
    if (shownOrg.current === org) return;
    shownOrg.current = org;
    setDraft(draftOf(org));
  }, [org]);
  const ai = org.ai_provider as AiProviderView | null | undefined;
  const save = useAction(async () => {
    const result = orgPatch(org, draft);
    if ("error" in result) {
      setProblem(result);
      return;
    }
    const updated = await patch<Org>("/api/v1/org", result.body);
    onSaved(updated);
    setSaved(true);
  });
  const bind = (key: keyof OrgDraft) => ({
    value: draft[key],
    onInput: (e: Event) => {
      setSaved(false);
      setProblem(null);
      setDraft({ ...draft, [key]: (e.currentTarget as HTMLInputElement).value });
    },
    "aria-invalid": problem?.field === key || (save.error instanceof ApiError && save.error.detail.field === key) ? true : undefined,
  });
  return (
    <form
      class="stack org-form"
      onSubmit={(e) => {
        e.preventDefault();
        setProblem(null);
        setSaved(false);
        void save.run();
      }}
    >
      <section class="card" aria-label="Identity">
        <h3>Identity</h3>
        <div class="row">
          <Field label="Organization name" required maxLength={100} {...bind("name")} />
          <Field label="Organization slug" required hint="3 to 40 of a-z, 0-9 and -." {...bind("slug")} />
        </div>
        <Field label="Contact email" type="email" required {...bind("email")} />
      </section>
      <section class="card" aria-label="Telemetry">
        <h3>Telemetry</h3>
        <div class="row">
          <Field label="Retention (days)" type="number" min={1} max={3650} step={1} required hint="Rows older than this are deleted." {...bind("retention_days")} />
          <Field label="Warning error rate (%)" type="number" min={0} max={100} step="any" required {...bind("warning")} />
          <Field label="Critical error rate (%)" type="number" min={0} max={100} step="any" required hint="The overview colours services at these error rates." {...bind("critical")} />
        </div>
      </section>
      <section class="card" aria-label="AI provider">
        <h3>AI provider</h3>
        <div class="row">
          <Field label="Provider" list="ai-providers" placeholder="none" hint="e.g. openai, anthropic, ollama; empty for none." {...bind("provider")} />
          <Field label="Model" placeholder="e.g. gpt-4o" {...bind("model")} />
        </div>
        <datalist id="ai-providers">
          <option value="openai" />
          <option value="anthropic" />
          <option value="ollama" />
          <option value="azure-openai" />
          <option value="openrouter" />
        </datalist>
        <Field label="Base URL" type="url" placeholder="https://api.example.com/v1 (optional)" {...bind("base_url")} />
        <Field
          label="Provider API key"
          type="password"
          autocomplete="off"
          placeholder={ai?.api_key === "set" ? "•••••••• (stored; type to replace)" : "not set"}
          hint="Write-only: stored encrypted and never shown again. Leave empty to keep the stored key."
          {...bind("api_key")}
        />
      </section>
      {problem && (
        <div class="error-note" role="alert">
          {problem.error}
        </div>
      )}
      <ErrorNote error={save.error} />
      <div class="form-actions">
        <button class="btn primary" type="submit" disabled={save.busy}>
          Save
        </button>
        <button type="button" class="btn" onClick={() => setDraft(draftOf(org))}>
          Reset
        </button>
        <Done>{saved && "Saved."}</Done>
      </div>
    </form>
  );
}

export function OrgSection() {
  const loaded = useLoad((signal) => get<Org>("/api/v1/org", { signal }), []);
  const [org, setLocal] = useState<Org | null>(null);
  const shown = org ?? loaded.data;
  return (
    <div class="stack">
      <SectionHead title="Organization" intro="Who you are, how long telemetry is kept, and when a service counts as erroring." />
      <ErrorNote error={loaded.error} />
      {!shown ? (
        loaded.loading && <Loading />
      ) : isAdmin.value ? (
        <Editor
          org={shown}
          onSaved={(o) => {
            setLocal(o);
            setOrg(o);
          }}
        />
      ) : (
        <ReadOnly org={shown} />
      )}
    </div>
  );
}
