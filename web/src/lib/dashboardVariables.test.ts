// Unit tests of the Variables editor's form rows: round trips, and refusals that say why.
import { describe, expect, it } from "vitest";
import { draftOf, variableOf, type VarDraft } from "./dashboardVariables";
import type { Variable } from "./dashboard";

const row = (over: Partial<VarDraft>): VarDraft => ({ key: 1, name: "v", kind: "custom", query: "", options: "a, b", multi: false, default: "", ...over });

describe("variable form rows", () => {
  it("round-trip a document's variables", () => {
    const vars: Variable[] = [
      { name: "service", kind: "query", query: "SELECT DISTINCT service FROM logs", multi: true, default: null },
      { name: "env", kind: "custom", options: ["prod", "staging"], multi: false, default: "prod" },
      { name: "limit", kind: "custom", options: [5, 10], multi: false, default: 10 },
      { name: "needle", kind: "text", multi: false, default: null },
    ];
    expect(vars.map((v) => variableOf(draftOf(v)))).toEqual(vars);
  });
  it("reads multi defaults as lists of options", () => {
    expect(variableOf(row({ multi: true, default: "b, a" }))).toEqual({ name: "v", kind: "custom", options: ["a", "b"], multi: true, default: ["b", "a"] });
  });
  it("say what is wrong", () => {
    expect(variableOf(row({ name: "my-var" }))).toMatch(/not a variable name/);
    expect(variableOf(row({ name: "1x" }))).toMatch(/not a variable name/);
    expect(variableOf(row({ kind: "query", query: " " }))).toMatch(/needs a query/);
    expect(variableOf(row({ options: " , " }))).toMatch(/needs options/);
    expect(variableOf(row({ default: "c" }))).toMatch(/not one of its options/);
  });
  it("keep a text variable single and its default as typed", () => {
    expect(variableOf(row({ kind: "text", multi: true, default: " x " }))).toEqual({ name: "v", kind: "text", multi: false, default: " x " });
  });
});
