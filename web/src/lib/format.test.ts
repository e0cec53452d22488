import { describe, expect, it } from "vitest";
import { axisTimeFormat, formatBytes, formatDuration, formatNumber, formatPercent, formatRelative, stepSeconds } from "./format";

describe("numbers", () => {
  it("abbreviates large numbers and trims decimals", () => {
    expect(formatNumber(42)).toBe("42");
    expect(formatNumber(9999)).toBe("9999");
    expect(formatNumber(12345)).toBe("12.3k");
    expect(formatNumber(2_500_000)).toBe("2.5M");
    expect(formatNumber(0.12345)).toBe("0.123");
    expect(formatNumber(null)).toBe("–");
    expect(formatPercent(0.0512)).toBe("5.12%");
    expect(formatBytes(1536)).toBe("1.5 KiB");
    expect(formatBytes(12)).toBe("12 B");
  });
  it("formats durations from µs to hours", () => {
    expect(formatDuration(0.25)).toBe("250µs");
    expect(formatDuration(12.34)).toBe("12.3ms");
    expect(formatDuration(1500)).toBe("1.5s");
    expect(formatDuration(125_000)).toBe("2m 5s");
    expect(formatDuration(7_200_000)).toBe("2h");
  });
  it("says how long ago", () => {
    expect(formatRelative(1000, 301_000)).toBe("5 minutes ago");
    expect(formatRelative(7_201_000, 1000)).toBe("in 2 hours");
  });
});

describe("buckets and axes", () => {
  it("reads bucket steps", () => {
    expect(stepSeconds("5m")).toBe(300);
    expect(stepSeconds("1d")).toBe(86400);
    expect(stepSeconds("5x")).toBeNull();
  });
  it("picks tick labels by spacing", () => {
    const d = new Date(2026, 10, 22, 9, 5, 7);
    expect(axisTimeFormat(10, 600)(d)).toBe("09:05:07");
    expect(axisTimeFormat(600, 3600 * 6)(d)).toBe("09:05");
    expect(axisTimeFormat(3600, 3 * 86400)(d)).toBe("11-22 09:05");
    expect(axisTimeFormat(86400, 30 * 86400)(d)).toBe("11-22");
  });
});
