// Unit tests of the dashboards' pure logic: documents, variable values to and from the
// URL, answers shaped for panels, markers, and import parsing.
import { describe, expect, it } from "vitest";
import type { OqlResult } from "./api";
import {
  docOf,
  exportFileName,
  markersOf,
  newDoc,
  nextPanelId,
  optionsFromResult,
  parseImport,
  parseOptions,
  referencedVariables,
  resolvedValues,
  thresholdColor,
  toBars,
  toSeries,
  toStat,
  urlValues,
  withVariable,
  type Dashboard,
  type Variable,
} from "./dashboard";

const result = (columns: [string, string][], rows: unknown[][]): OqlResult => ({
  columns: columns.map(([name, type]) => ({ name, type })),
  rows,
  truncated: false,
  stats: {},
});

const vars: Variable[] = [
  { name: "service", kind: "query", query: "SELECT DISTINCT service FROM logs", multi: true, default: null },
  { name: "level", kind: "custom", options: ["error", "info"], multi: false, default: "error" },
  { name: "limit", kind: "custom", options: [5, 10], multi: false, default: null },
  { name: "needle", kind: "text", multi: false, default: null },
];

describe("documents", () => {
  it("docOf drops what identifies the copy", () => {
    const d = { ...newDoc("  Checkout "), id: "x", version: 3, created_by: "a", updated_by: "b", created_at: "t", updated_at: "t" } as Dashboard;
    const doc = docOf(d);
    expect(doc.title).toBe("Checkout");
    expect(Object.keys(doc)).not.toContain("id");
    expect(Object.keys(doc)).not.toContain("version");
    expect(d.id).toBe("x");
  });
  it("picks unused panel ids", () => {
    expect(nextPanelId([], "stat")).toBe("stat-1");
    expect(nextPanelId([{ id: "stat-1" }, { id: "stat-2" }], "stat")).toBe("stat-3");
  });
});

describe("variables", () => {
  it("reads only the values the URL names, keeping option types", () => {
    const q = new URLSearchParams("var-service=api&var-service=web&var-limit=10&var-needle=x");
    expect(urlValues(vars, q)).toEqual({ service: ["api", "web"], limit: 10, needle: "x" });
  });
  it("resolves the rest as the server would", () => {
    const none = new URLSearchParams("");
    expect(resolvedValues(vars, none, {})).toEqual({ service: undefined, level: "error", limit: 5, needle: "" });
    expect(resolvedValues(vars, none, { service: ["api", "web"] }).service).toEqual(["api", "web"]);
    expect(resolvedValues(vars, new URLSearchParams("var-level=info"), {}).level).toBe("info");
  });
  it("writes a variable into the query string", () => {
    expect(withVariable("?from=now-1h&var-service=a", "service", ["b", "c"])).toBe("?from=now-1h&var-service=b&var-service=c");
    expect(withVariable("?var-service=a", "service", null)).toBe("");
  });
  it("parses typed options and answers' options", () => {
    expect(parseOptions(" prod, staging ,, prod")).toEqual(["prod", "staging"]);
    expect(optionsFromResult(result([["service", "string"]], [["a"], [null], ["b"], ["a"]]))).toEqual(["a", "b"]);
  });
  it("finds $names outside strings and comments", () => {
    expect(referencedVariables("SELECT count(*) FROM logs WHERE service IN ($service) AND body = '$not' AND level = $level -- $comment")).toEqual(["service", "level"]);
  });
});

describe("answers for panels", () => {
  it("makes one series per group, aligned, counts filled with zero", () => {
    const r = result(
      [
        ["t", "timestamp"],
        ["service", "string"],
        ["count(*)", "integer"],
      ],
      [
        ["2026-01-01T00:00:00Z", "api", 3],
        ["2026-01-01T00:00:00Z", "web", 1],
        ["2026-01-01T00:01:00Z", "api", 2],
      ],
    );
    const s = toSeries(r)!;
    expect(s.labels).toEqual(["api", "web"]);
    const t0 = Date.parse("2026-01-01T00:00:00Z") / 1000;
    expect(s.data).toEqual([
      [t0, t0 + 60],
      [3, 2],
      [1, 0],
    ]);
  });
  it("names series by column when there are several values, gaps for floats", () => {
    const r = result(
      [
        ["t", "timestamp"],
        ["avg", "float"],
        ["max", "float"],
      ],
      [
        ["2026-01-01T00:00:00Z", 1.5, 2],
        ["2026-01-01T00:01:00Z", null, 3],
      ],
    );
    const s = toSeries(r)!;
    expect(s.labels).toEqual(["avg", "max"]);
    expect(s.data[1]).toEqual([1.5, null]);
  });
  it("has no series without a time column", () => {
    expect(toSeries(result([["n", "integer"]], [[1]]))).toBeNull();
  });
  it("takes a stat from the first row's last number", () => {
    expect(toStat(result([["service", "string"], ["n", "integer"]], [["api", 42]]))).toEqual({ value: 42, column: "n" });
    expect(toStat(result([["s", "string"]], [["x"]]))).toEqual({ value: "x", column: "s" });
    expect(toStat(result([["n", "integer"]], []))).toBeNull();
  });
  it("makes bars of grouped counts, largest first", () => {
    expect(toBars(result([["service", "string"], ["n", "integer"]], [["a", 1], ["b", 5]]))).toEqual([
      { label: "b", value: 5 },
      { label: "a", value: 1 },
    ]);
  });
});

describe("markers", () => {
  it("draws annotations and alert transitions, skipping pending", () => {
    const m = markersOf({
      annotations: [{ id: "1", name: "deploy/api", title: "v2", tags: [], time: "2026-01-01T00:00:00Z", time_end: "2026-01-01T00:05:00Z" }],
      alert_transitions: [
        { rule_id: "r", rule_name: "Errors", at: "2026-01-01T00:01:00Z", fingerprint: "f", labels: { service: "api", alertname: "Errors" }, from: "pending", to: "firing", value: 61 },
        { rule_id: "r", rule_name: "Errors", at: "2026-01-01T00:02:00Z", fingerprint: "f", labels: {}, from: "firing", to: "normal", value: null },
        { rule_id: "r", rule_name: "Errors", at: "2026-01-01T00:00:30Z", fingerprint: "f", labels: {}, from: "normal", to: "pending", value: 3 },
      ],
      truncated: false,
    });
    expect(m.map((x) => x.kind)).toEqual(["annotation", "alert-firing", "alert-resolved"]);
    expect(m[0].timeEnd).toBe(Date.parse("2026-01-01T00:05:00Z"));
    expect(m[1].title).toBe("Errors: pending → firing at 61 (service=api)");
  });
});

describe("import", () => {
  it("accepts an export or a whole dashboard, and says what is wrong", () => {
    expect(parseImport('{"title":"x","panels":[]}').title).toBe("x");
    const whole = parseImport('{"id":"1","version":2,"title":"x","created_at":"t"}') as unknown as Record<string, unknown>;
    expect(Object.keys(whole)).toEqual(["title"]);
    expect(() => parseImport("")).toThrow(/Paste/);
    expect(() => parseImport("{nope")).toThrow(/not JSON/);
    expect(() => parseImport("[1]")).toThrow(/object/);
    expect(() => parseImport('{"panels":[]}')).toThrow(/title/);
  });
  it("names export files after the title", () => {
    expect(exportFileName("Checkout / Payments!")).toBe("checkout-payments.dashboard.json");
    expect(exportFileName("!!!")).toBe("dashboard.dashboard.json");
  });
});

describe("display options", () => {
  it("colours a stat by the highest threshold it reaches", () => {
    const th = [
      { value: 10, color: "orange" },
      { value: 50, color: "red" },
      { value: 0, color: "#22aa22" },
    ];
    expect(thresholdColor(5, th)).toBe("#22aa22");
    expect(thresholdColor(10, th)).toBe("var(--warn)");
    expect(thresholdColor(99, th)).toBe("var(--bad)");
    expect(thresholdColor(-1, th)).toBeUndefined();
    expect(thresholdColor("x", th)).toBeUndefined();
    expect(thresholdColor(5, [{ value: 1, color: "url(x)" }])).toBeUndefined();
    expect(thresholdColor(5, null)).toBeUndefined();
  });
});
