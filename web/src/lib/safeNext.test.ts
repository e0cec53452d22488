import { describe, expect, it } from "vitest";
import { safeNext } from "./safeNext";

const ORIGIN = "http://hexcovery.test:8080";

describe("safeNext", () => {
  it("keeps paths of this origin with their query", () => {
    expect(safeNext("/logs?q=level%20%3D%20'error'&from=now-6h", ORIGIN)).toBe("/logs?q=level%20%3D%20%27error%27&from=now-6h");
    expect(safeNext("/traces/abc#span", ORIGIN)).toBe("/traces/abc#span");
  });
  it("refuses anything that resolves to another origin", () => {
    for (const bad of ["//evil.example/x", "/\\evil.example", "/\t/evil.example", "https://evil.example/", "javascript:alert(1)", "evil"]) {
      expect(safeNext(bad, ORIGIN)).toBe("/");
    }
  });
  it("never returns to the login page itself", () => {
    expect(safeNext("/login?next=/", ORIGIN)).toBe("/");
    expect(safeNext(null, ORIGIN)).toBe("/");
  });
});
