// Unit tests of the usage chart data: days without usage are zeros, signals stay in order.
import { describe, expect, it } from "vitest";
import { daysBetween, isDay, shiftDay, usageSeries, usageTotals } from "./usage";

const rows = [
  { day: "2026-03-02", signal: "spans", records: 5, bytes: 500 },
  { day: "2026-03-02", signal: "logs", records: 10, bytes: 1000 },
  { day: "2026-02-28", signal: "logs", records: 2, bytes: 200 },
];

describe("usage", () => {
  it("walks days across month ends", () => {
    expect(daysBetween("2026-02-27", "2026-03-02")).toEqual(["2026-02-27", "2026-02-28", "2026-03-01", "2026-03-02"]);
    expect(shiftDay("2026-03-01", -1)).toBe("2026-02-28");
    expect(daysBetween("2026-03-02", "2026-03-01")).toEqual([]);
  });
  it("checks dates", () => {
    expect(isDay("2026-02-28")).toBe(true);
    expect(isDay("2026-02-30")).toBe(false);
    expect(isDay("yesterday")).toBe(false);
  });
  it("aligns signals on every day of the range", () => {
    const { signals, data } = usageSeries(rows, "2026-02-28", "2026-03-02", "records");
    expect(signals).toEqual(["logs", "spans"]);
    expect(data[0]).toEqual([Date.UTC(2026, 1, 28) / 1000, Date.UTC(2026, 2, 1) / 1000, Date.UTC(2026, 2, 2) / 1000]);
    expect(data[1]).toEqual([2, 0, 10]);
    expect(data[2]).toEqual([0, 0, 5]);
    expect(usageSeries(rows, "2026-02-28", "2026-03-02", "bytes").data[1]).toEqual([200, 0, 1000]);
  });
  it("totals per signal", () => {
    expect(usageTotals(rows)).toEqual([
      { signal: "logs", records: 12, bytes: 1200 },
      { signal: "spans", records: 5, bytes: 500 },
    ]);
  });
});
