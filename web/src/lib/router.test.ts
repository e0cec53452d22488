import { describe, expect, it } from "vitest";
import { match } from "./router";

describe("match", () => {
  it("captures parameters and the rest of a path, decoded", () => {
    expect(match("/traces/:id", "/traces/abc")).toEqual({ id: "abc" });
    expect(match("/hosts/:host", "/hosts/web-1.example.com")).toEqual({ host: "web-1.example.com" });
    expect(match("/hosts/:host", "/hosts/a%20b")).toEqual({ host: "a b" });
    expect(match("/settings/*", "/settings/api-keys")).toEqual({ "*": "api-keys" });
    expect(match("/", "/")).toEqual({});
  });
  it("refuses other shapes and malformed escapes instead of throwing", () => {
    expect(match("/traces/:id", "/traces")).toBeNull();
    expect(match("/traces/:id", "/traces/a/b")).toBeNull();
    expect(match("/hosts/:host", "/hosts/%E0%A4%A")).toBeNull();
    expect(match("/settings/*", "/settings/%zz")).toBeNull();
  });
});
