// Unit tests of the alert rule draft: API JSON to form and back, local checks, where API
// errors land in the form, and the list's state word.
import { describe, expect, it } from "vitest";
import { ApiError } from "./api";
import { type AlertRule, NEW_DRAFT, bodyOf, conditionText, draftOf, fieldMessage, fieldOf, labelText, parseIds, parsePairs, queryPosition, ruleState } from "./alertRule";

const RULE: AlertRule = {
  id: "r1",
  name: "Checkout errors",
  description: "",
  query: "SELECT service, count(*) AS value FROM logs WHERE level = 'error' GROUP BY service",
  window: "5m",
  interval: "1m",
  condition: { op: ">", threshold: 50, warning: 20, recovery: 30, reducer: "last" },
  pending_for: "2m",
  keep_firing_for: "0s",
  no_data: "ok",
  on_error: "error",
  labels: { team: "payments" },
  annotations: { summary: "{{labels.service}}: {{value}} errors in {{window}}" },
  channels: ["0190c9e2-7a3b-7c1d-8e2f-0123456789ab"],
  repeat_interval: "4h",
  send_resolved: true,
  paused: false,
  health: "ok",
  last_eval_at: null,
  last_error: null,
  next_eval_at: null,
  created_by: { kind: "user", id: null, name: "ada" },
  created_at: "",
  updated_at: "",
};

describe("draft and body", () => {
  it("round-trips a stored rule", () => {
    const { body, errors } = bodyOf(draftOf(RULE));
    expect(errors).toEqual({});
    expect(body).toEqual({
      name: RULE.name,
      description: "",
      query: RULE.query,
      window: "5m",
      interval: "1m",
      condition: { op: ">", threshold: 50, warning: 20, recovery: 30, reducer: "last" },
      pending_for: "2m",
      keep_firing_for: "0s",
      no_data: "ok",
      on_error: "error",
      labels: { team: "payments" },
      annotations: RULE.annotations,
      channels: RULE.channels,
      repeat_interval: "4h",
      send_resolved: true,
      paused: false,
    });
  });
  it("leaves out empty warning and recovery levels", () => {
    const { body } = bodyOf({ ...NEW_DRAFT, name: "x", threshold: "5" });
    expect(body!.condition).toEqual({ op: ">", threshold: 5, reducer: "last" });
  });
  it("says what is wrong before asking the server", () => {
    const { body, errors } = bodyOf({ ...NEW_DRAFT, name: " ", threshold: "lots", warning: "1e", labels: "team", window: "", channels: ["nope"] });
    expect(body).toBeNull();
    expect(Object.keys(errors).sort()).toEqual(["channels", "condition.threshold", "condition.warning", "labels", "name", "window"]);
    expect(errors["condition.threshold"]).toContain('"lots" is not a number');
    expect(errors.labels).toContain("line 1");
    expect(bodyOf({ ...NEW_DRAFT, name: "x" }).errors["condition.threshold"]).toContain("is required");
  });
});

describe("pairs and ids", () => {
  it("reads name=value lines, values may hold =", () => {
    expect(parsePairs("team = payments\n\nsummary=a=b")).toEqual({ pairs: { team: "payments", summary: "a=b" } });
    expect(parsePairs("a=1\na=2").error).toContain("given twice");
    expect(parsePairs("=x").error).toContain("line 1");
  });
  it("splits ids on commas and spaces", () => {
    expect(parseIds(" a, b\nc  d,")).toEqual(["a", "b", "c", "d"]);
  });
});

describe("API errors in the form", () => {
  const err = (field: string, message: string) => new ApiError(400, "invalid_field", message, { field });
  it("maps field paths to form fields", () => {
    expect(fieldOf(err("condition.warning", "condition.warning: 60 must be below"))).toBe("condition.warning");
    expect(fieldOf(err("rule.condition.op", "rule.condition.op: unknown variant"))).toBe("condition.op");
    expect(fieldOf(err("labels.1st", "labels.1st: not a valid label name"))).toBe("labels");
    expect(fieldOf(err("annotations.summary", "x"))).toBe("annotations");
    expect(fieldOf(err("rule.query", "x"))).toBe("query");
    expect(fieldOf(err("condition", "condition: missing field `threshold`"))).toBe("condition.threshold");
    expect(fieldOf(err("", "missing field `window`"))).toBeNull();
    expect(fieldOf(new Error("x"))).toBeNull();
  });
  it("drops the field path from the message", () => {
    expect(fieldMessage(err("condition.warning", "condition.warning: 60 must be below the threshold"))).toBe("60 must be below the threshold");
    expect(fieldMessage(err("rule.interval", "rule.interval: 5s is out of range"))).toBe("5s is out of range");
    expect(fieldMessage(err("query", "unknown column nope"))).toBe("unknown column nope");
    expect(fieldMessage(err("rule.query", "rule.table `logs` has no column `levle`"))).toBe("table `logs` has no column `levle`");
    expect(fieldMessage(err("rule", "rule.missing field `window`"))).toBe("missing field `window`");
  });
  it("names an OQL error's position and hint", () => {
    expect(queryPosition(new ApiError(400, "oql_unknown", "unknown column", { field: "query", line: 1, column: 8, hint: "did you mean level?" }))).toBe("line 1, column 8 · hint: did you mean level?");
    expect(queryPosition(err("query", "x"))).toBeNull();
  });
});

describe("rule state", () => {
  it("ranks paused, error, firing, pending, nodata, ok, unknown", () => {
    const r = (health: string, paused = false) => ({ health, paused });
    expect(ruleState(r("ok", true), [{ state: "firing" }])).toBe("paused");
    expect(ruleState(r("error"), [{ state: "firing" }])).toBe("error");
    expect(ruleState(r("ok"), [{ state: "normal" }, { state: "firing" }, { state: "pending" }])).toBe("firing");
    expect(ruleState(r("ok"), [{ state: "pending" }])).toBe("pending");
    expect(ruleState(r("no_data"), [])).toBe("nodata");
    expect(ruleState(r("ok"), [{ state: "normal" }])).toBe("ok");
    expect(ruleState(r("unknown"), [])).toBe("unknown");
  });
  it("words conditions and labels", () => {
    expect(conditionText(RULE.condition)).toBe("value > 50 (warning 20, recovery 30)");
    expect(conditionText({ op: "<=", threshold: 1 })).toBe("value <= 1");
    expect(labelText({ alertname: "x", team: "payments", service: "checkout", severity: "critical" }, { team: "payments" })).toBe("service=checkout");
    expect(labelText({ alertname: "x" }, {}, "Checkout")).toBe("Checkout");
  });
});
