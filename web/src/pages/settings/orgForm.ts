// The org settings form: its text fields from the org, and the PATCH body of what changed,
// checked first for the mistakes a person makes (numbers, threshold order) so the answer
// names the field; the server checks everything again.
import type { Org } from "../../lib/session";

export interface OrgDraft {
  name: string;
  slug: string;
  email: string;
  retention_days: string;
  warning: string;
  critical: string;
  provider: string;
  model: string;
  base_url: string;
  /** Write-only: empty keeps the stored key. */
  api_key: string;
}

export function draftOf(org: Org): OrgDraft {
  return {
    name: org.name,
    slug: org.slug,
    email: org.email,
    retention_days: String(org.retention_days),
    warning: String(org.error_rate_thresholds.warning),
    critical: String(org.error_rate_thresholds.critical),
    provider: org.ai_provider?.provider ?? "",
    model: org.ai_provider?.model ?? "",
    base_url: org.ai_provider?.base_url ?? "",
    api_key: "",
  };
}

export type PatchResult = { body: Record<string, unknown> } | { error: string; field?: keyof OrgDraft };

const number = (text: string) => (text.trim() === "" ? NaN : Number(text.trim()));

/** The `PATCH /api/v1/org` body turning `org` into `draft`, or what is wrong with it. */
export function orgPatch(org: Org, draft: OrgDraft): PatchResult {
  const body: Record<string, unknown> = {};
  for (const key of ["name", "slug", "email"] as const) {
    const value = draft[key].trim();
    if (value !== org[key]) body[key] = value;
  }
  const days = number(draft.retention_days);
  if (!Number.isInteger(days) || days < 1 || days > 3650) {
    return { error: "Retention must be a whole number of days from 1 to 3650.", field: "retention_days" };
  }
  if (days !== org.retention_days) body.retention_days = days;

  const warning = number(draft.warning);
  const critical = number(draft.critical);
  const pct = (v: number) => Number.isFinite(v) && v > 0 && v <= 100;
  if (!pct(warning)) return { error: "The warning error rate must be a percentage above 0 and at most 100.", field: "warning" };
  if (!pct(critical)) return { error: "The critical error rate must be a percentage above 0 and at most 100.", field: "critical" };
  if (warning >= critical) return { error: "The warning error rate must be below the critical one.", field: "warning" };
  const t = org.error_rate_thresholds;
  if (warning !== t.warning || critical !== t.critical) body.error_rate_thresholds = { warning, critical };

  const provider = draft.provider.trim();
  const model = draft.model.trim();
  const baseUrl = draft.base_url.trim();
  const current = org.ai_provider ?? null;
  if (!provider) {
    if (model || baseUrl || draft.api_key) return { error: "Choose an AI provider for this model, base URL or key, or clear them.", field: "provider" };
    if (current) body.ai_provider = null;
  } else {
    if (!model) return { error: "Name the model the AI provider should use.", field: "model" };
    const changed = !current || current.provider !== provider || current.model !== model || (current.base_url ?? "") !== baseUrl || draft.api_key !== "";
    if (changed) {
      const ai: Record<string, string> = { provider, model };
      if (baseUrl) ai.base_url = baseUrl;
      if (draft.api_key) ai.api_key = draft.api_key;
      body.ai_provider = ai;
    }
  }
  if (Object.keys(body).length === 0) return { error: "Nothing to save: no field has changed." };
  return { body };
}
