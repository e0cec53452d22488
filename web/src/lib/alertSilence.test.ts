// Unit tests of silences: matcher lines, status by time, end from a duration, and the
// matchers that select one instance.
import { describe, expect, it } from "vitest";
import { type Silence, endFromDuration, formatMatchers, fromLocalInput, matchersForLabels, parseMatchers, silenceStatus, silencing, toLocalInput } from "./alertSilence";

describe("matchers", () => {
  it("reads the four operators, one a line", () => {
    expect(parseMatchers("service=~check.*\nteam != payments\n\nhost!~web-[12]\nk8s.ns=\"a b \"").matchers).toEqual([
      { label: "service", op: "=~", value: "check.*" },
      { label: "team", op: "!=", value: "payments" },
      { label: "host", op: "!~", value: "web-[12]" },
      { label: "k8s.ns", op: "=", value: "a b " },
    ]);
  });
  it("says which line is wrong, and that one is needed", () => {
    expect(parseMatchers("service=x\nservice ~ y").error).toContain("line 2");
    expect(parseMatchers("1st=x").error).toContain("line 1");
    expect(parseMatchers(" \n").error).toContain("at least one matcher");
  });
  it("writes them back the same way", () => {
    const text = 'service=~check.*\nteam!=payments\nk8s.ns=" a"';
    expect(formatMatchers(parseMatchers(text).matchers)).toBe(text);
  });
  it("selects one instance by its labels, without alertname and severity", () => {
    expect(matchersForLabels({ alertname: "E", service: "checkout", severity: "critical" })).toEqual([{ label: "service", op: "=", value: "checkout" }]);
  });
});

describe("times", () => {
  const NOW = Date.parse("2026-11-22T10:00:00Z");
  it("tells active, scheduled and expired apart", () => {
    const s = (a: number, b: number) => ({ starts_at: new Date(NOW + a).toISOString(), ends_at: new Date(NOW + b).toISOString() });
    expect(silenceStatus(s(-1000, 1000), NOW)).toBe("active");
    expect(silenceStatus(s(1000, 2000), NOW)).toBe("scheduled");
    expect(silenceStatus(s(-2000, 0), NOW)).toBe("expired");
  });
  it("ends after a duration", () => {
    expect(endFromDuration(NOW, "2h")).toBe(NOW + 2 * 3600e3);
    expect(() => endFromDuration(NOW, "2 hours")).toThrow(/not a duration/);
    expect(() => endFromDuration(NOW, "0m")).toThrow(/not a duration/);
  });
  it("round-trips datetime-local values to the minute", () => {
    const ms = Date.parse("2026-11-22T10:30:00Z");
    expect(fromLocalInput(toLocalInput(ms))).toBe(ms);
    expect(fromLocalInput("")).toBeNull();
    expect(fromLocalInput("soon")).toBeNull();
  });
});

describe("silencing", () => {
  const NOW = Date.parse("2026-11-22T10:00:00Z");
  const base = { id: "s", comment: "", created_by: { kind: "user", id: null, name: "a" }, created_at: "", updated_at: "", starts_at: new Date(NOW - 60e3).toISOString(), ends_at: new Date(NOW + 60e3).toISOString() };
  const s = (matchers: string, rule_id: string | null = null, extra: Partial<Silence> = {}): Silence => ({ ...base, matchers: parseMatchers(matchers).matchers, rule_id, ...extra });
  const inst = { rule_id: "r1", labels: { service: "checkout", host: "web-1" } };
  it("matches every matcher, regexes anchored", () => {
    expect(silencing(inst, [s("service=~check.*")], NOW)?.id).toBe("s");
    expect(silencing(inst, [s("service=~check")], NOW)).toBeUndefined();
    expect(silencing(inst, [s("service=checkout\nhost!=web-1")], NOW)).toBeUndefined();
    expect(silencing(inst, [s("service!~pay.*\nteam=")], NOW)?.id).toBe("s");
    expect(silencing(inst, [s("service=~(")], NOW)).toBeUndefined();
  });
  it("only in force, and only for its rule", () => {
    expect(silencing(inst, [s("service=checkout", "r2")], NOW)).toBeUndefined();
    expect(silencing(inst, [s("service=checkout", "r1")], NOW)?.id).toBe("s");
    expect(silencing(inst, [s("service=checkout", null, { ends_at: new Date(NOW).toISOString() })], NOW)).toBeUndefined();
  });
});
