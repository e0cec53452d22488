import { describe, expect, it } from "vitest";
import { durationMs, iso, parseTime, rangeLabel, resolveRange } from "./time";

const NOW = Date.parse("2026-11-22T10:00:00Z");

describe("parseTime", () => {
  it("reads now and relative times", () => {
    expect(parseTime("now", NOW)).toBe(NOW);
    expect(parseTime("now-15m", NOW)).toBe(NOW - 15 * 60e3);
    expect(parseTime("now - 2h", NOW)).toBe(NOW - 2 * 3600e3);
    expect(parseTime("now-30d", NOW)).toBe(NOW - 30 * 86400e3);
    expect(parseTime("now-1w", NOW)).toBe(NOW - 7 * 86400e3);
  });
  it("reads absolute times, without a zone as UTC", () => {
    expect(parseTime("2026-11-22T09:00:00Z", NOW)).toBe(NOW - 3600e3);
    expect(parseTime("2026-11-22T09:00:00+01:00", NOW)).toBe(NOW - 2 * 3600e3);
    expect(parseTime("2026-11-22 09:00", NOW)).toBe(NOW - 3600e3);
    expect(parseTime("2026-11-22", NOW)).toBe(NOW - 10 * 3600e3);
    expect(parseTime(String(NOW - 5000), NOW)).toBe(NOW - 5000);
  });
  it("refuses what is not a time, saying what is allowed", () => {
    for (const bad of ["", "yesterday", "now-5x", "now+5m", "2026-13-45T99:00:00Z", "12"]) {
      expect(() => parseTime(bad, NOW)).toThrow(/now-15m/);
    }
  });
});

describe("resolveRange", () => {
  it("resolves both ends against one now", () => {
    expect(resolveRange({ from: "now-1h", to: "now" }, NOW)).toEqual({ from: NOW - 3600e3, to: NOW });
  });
  it("refuses an empty or reversed range", () => {
    expect(() => resolveRange({ from: "now", to: "now-1h" }, NOW)).toThrow(/before/);
    expect(() => resolveRange({ from: "now", to: "now" }, NOW)).toThrow(/before/);
  });
});

describe("labels", () => {
  it("names presets and other ranges", () => {
    expect(rangeLabel({ from: "now-15m", to: "now" })).toBe("Last 15 minutes");
    expect(rangeLabel({ from: "now-90m", to: "now" })).toBe("Last 90m");
    expect(rangeLabel({ from: "2026-11-22T09:00:00Z", to: "2026-11-22T10:00:00Z" })).toBe("2026-11-22T09:00:00Z → 2026-11-22T10:00:00Z");
  });
  it("formats instants to the second", () => {
    expect(iso(NOW + 400)).toBe("2026-11-22T10:00:00Z");
    expect(durationMs("5m")).toBe(300e3);
    expect(durationMs("5 minutes")).toBeNull();
  });
});
