// Unit tests of the org settings form: only changed fields are sent, mistakes name a field.
import { describe, expect, it } from "vitest";
import type { Org } from "../../lib/session";
import { draftOf, orgPatch } from "./orgForm";

const org: Org = {
  id: "o1",
  name: "Acme",
  slug: "acme",
  email: "ops@acme.test",
  retention_days: 30,
  error_rate_thresholds: { warning: 1, critical: 5 },
  ai_provider: null,
  created_at: "",
  updated_at: "",
};

describe("org settings form", () => {
  it("sends only what changed", () => {
    const d = { ...draftOf(org), name: " Acme Inc ", retention_days: "14" };
    expect(orgPatch(org, d)).toEqual({ body: { name: "Acme Inc", retention_days: 14 } });
    expect(orgPatch(org, { ...draftOf(org), critical: "10" })).toEqual({ body: { error_rate_thresholds: { warning: 1, critical: 10 } } });
  });
  it("says when nothing changed", () => {
    expect(orgPatch(org, draftOf(org))).toEqual({ error: "Nothing to save: no field has changed." });
  });
  it("names the field of a bad number", () => {
    expect(orgPatch(org, { ...draftOf(org), retention_days: "2.5" })).toMatchObject({ field: "retention_days" });
    expect(orgPatch(org, { ...draftOf(org), retention_days: "" })).toMatchObject({ field: "retention_days" });
    expect(orgPatch(org, { ...draftOf(org), warning: "6" })).toMatchObject({ field: "warning" });
    expect(orgPatch(org, { ...draftOf(org), critical: "101" })).toMatchObject({ field: "critical" });
  });
  it("sets, keeps and removes the AI provider; the key only when typed", () => {
    const set = orgPatch(org, { ...draftOf(org), provider: "openai", model: "gpt-4o", api_key: "sk-1" });
    expect(set).toEqual({ body: { ai_provider: { provider: "openai", model: "gpt-4o", api_key: "sk-1" } } });
    const withAi: Org = { ...org, ai_provider: { provider: "ollama", model: "llama3", base_url: "http://gpu:11434" } };
    expect(orgPatch(withAi, draftOf(withAi))).toMatchObject({ error: expect.any(String) });
    expect(orgPatch(withAi, { ...draftOf(withAi), model: "qwen" })).toEqual({
      body: { ai_provider: { provider: "ollama", model: "qwen", base_url: "http://gpu:11434" } },
    });
    expect(orgPatch(withAi, { ...draftOf(withAi), provider: "", model: "", base_url: "" })).toEqual({ body: { ai_provider: null } });
    expect(orgPatch(org, { ...draftOf(org), model: "x" })).toMatchObject({ field: "provider" });
    expect(orgPatch(org, { ...draftOf(org), provider: "openai" })).toMatchObject({ field: "model" });
  });
});
