// Unit tests of the audit filters: relative times resolve, bad ones say which field.
import { describe, expect, it } from "vitest";
import { auditQuery, detailText, shortTarget } from "./audit";

const none = { actor: "", action: "", from: "", to: "" };

describe("audit filters", () => {
  it("sends only what is set, times as epoch ms", () => {
    expect(auditQuery(none, null)).toEqual({ limit: "50" });
    const now = Date.UTC(2026, 0, 2);
    expect(auditQuery({ actor: " ann@x.test ", action: "auth.*", from: "now-1d", to: "now" }, "c1", now)).toEqual({
      limit: "50",
      actor: "ann@x.test",
      action: "auth.*",
      from: String(now - 86_400_000),
      to: String(now),
      before: "c1",
    });
    expect(auditQuery({ ...none, from: "2026-01-01T00:00:00Z" }, null).from).toBe(String(Date.UTC(2026, 0, 1)));
  });
  it("names a time it cannot read, and a reversed range", () => {
    expect(() => auditQuery({ ...none, to: "yesterday" }, null)).toThrow(/^To: /);
    expect(() => auditQuery({ ...none, from: "now", to: "now-1h" }, null)).toThrow(/From must not be after To/);
  });
  it("writes details on one line", () => {
    expect(detailText({ from: "viewer", to: "editor" })).toBe("from=viewer to=editor");
    expect(detailText({ fields: ["name", "slug"] })).toBe('fields=["name","slug"]');
    expect(detailText(null)).toBe("");
  });
  it("shortens uuid targets to their distinguishing tail", () => {
    expect(shortTarget("team:01a2344f-9623-7289-a4fd-7d0a12bb3c4d")).toBe("team …12bb3c4d");
    expect(shortTarget("org")).toBe("org");
    expect(shortTarget(null)).toBe("–");
  });
});
