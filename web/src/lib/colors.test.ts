import { describe, expect, it } from "vitest";
import { LEVEL_COLORS, colorFor } from "./colors";

describe("colorFor", () => {
  it("is stable and gives levels their fixed colours", () => {
    expect(colorFor("checkout")).toBe(colorFor("checkout"));
    expect(colorFor("error")).toBe(LEVEL_COLORS.error);
  });
  it("spreads the demo services over different hues", () => {
    const names = ["frontend", "checkout", "payments", "search"];
    expect(new Set(names.map(colorFor)).size).toBe(names.length);
  });
});
