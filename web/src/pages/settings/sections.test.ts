// Unit tests of the settings sections: visibility by role and URL resolution.
import { describe, expect, it } from "vitest";
import { resolveSection, visibleSections } from "./sections";

describe("settings sections", () => {
  it("hides admin-only sections from editors and viewers", () => {
    const ids = (role: "admin" | "editor" | "viewer") => visibleSections(role).map((s) => s.id);
    expect(ids("admin")).toEqual(["org", "users", "teams", "api-keys", "channels", "sessions", "security", "audit", "usage"]);
    expect(ids("viewer")).toEqual(["org", "users", "teams", "sessions", "security"]);
    expect(ids("editor")).toEqual(ids("viewer"));
  });
  it("redirects the bare path to the first section", () => {
    expect(resolveSection("", "viewer")).toEqual({ kind: "redirect", to: "/settings/org" });
    expect(resolveSection("/", "admin")).toEqual({ kind: "redirect", to: "/settings/org" });
  });
  it("resolves sections, sub-paths, unknown and forbidden ones", () => {
    expect(resolveSection("users", "viewer")).toMatchObject({ kind: "section", section: { id: "users" }, rest: "" });
    expect(resolveSection("channels/abc", "admin")).toMatchObject({ kind: "section", section: { id: "channels" }, rest: "abc" });
    expect(resolveSection("audit", "viewer")).toMatchObject({ kind: "forbidden", section: { id: "audit" } });
    expect(resolveSection("nope", "admin")).toEqual({ kind: "unknown", id: "nope" });
  });
});
