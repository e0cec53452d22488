// Unit tests of the overview's arithmetic: tones against thresholds, rates, the join of the
// per-service answers, steps and the request series.
import { describe, expect, it } from "vitest";
import { errorPercent, errorTone, formatErrorPercent, formatRate, pickStep, rateAxis, ratePerSecond, requestSeries, serviceStats, totals } from "./overview";

const T = { warning: 1, critical: 5 };

describe("errorTone", () => {
  it("compares percents with the org's thresholds, inclusive", () => {
    expect(errorTone(0, T)).toBe("ok");
    expect(errorTone(0.99, T)).toBe("ok");
    expect(errorTone(1, T)).toBe("warn");
    expect(errorTone(4.9, T)).toBe("warn");
    expect(errorTone(5, T)).toBe("bad");
    expect(errorTone(100, T)).toBe("bad");
  });
  it("is muted without requests", () => {
    expect(errorTone(null, T)).toBe("muted");
    expect(errorTone(errorPercent(0, 0), T)).toBe("muted");
  });
  it("follows other thresholds", () => {
    expect(errorTone(3, { warning: 2, critical: 10 })).toBe("warn");
    expect(errorTone(12, { warning: 2, critical: 10 })).toBe("bad");
  });
});

describe("rates", () => {
  it("divides by the whole range", () => {
    expect(ratePerSecond(3600, 3600_000)).toBe(1);
    expect(ratePerSecond(60, 3600_000)).toBeCloseTo(1 / 60);
    expect(ratePerSecond(5, 0)).toBe(0);
  });
  it("formats in a readable unit", () => {
    expect(formatRate(0)).toBe("0/s");
    expect(formatRate(12.5)).toBe("12.5/s");
    expect(formatRate(1)).toBe("1/s");
    expect(formatRate(0.5)).toBe("30/min");
    expect(formatRate(21 / 3600)).toBe("21/h");
    expect(formatRate(1 / 60)).toBe("1/min");
    expect(formatRate(25000)).toBe("25k/s");
  });
  it("keeps one unit on a rate axis", () => {
    const perMin = rateAxis(0.05);
    expect([0, 0.025, 0.05].map(perMin)).toEqual(["0/min", "1.5/min", "3/min"]);
    expect(rateAxis(12)(0.5)).toBe("0.5/s");
    expect(rateAxis(0.001)(0.001)).toBe("3.6/h");
    expect(rateAxis(0)(0)).toBe("0/s");
  });
  it("formats error percents", () => {
    expect(formatErrorPercent(null)).toBe("–");
    expect(formatErrorPercent(0)).toBe("0%");
    expect(formatErrorPercent(0.05)).toBe("<0.1%");
    expect(formatErrorPercent(4.76)).toBe("4.8%");
    expect(formatErrorPercent(14.28)).toBe("14%");
  });
});

describe("serviceStats", () => {
  it("joins statuses, latencies and span counts per service, busiest first", () => {
    const stats = serviceStats(
      [
        { service: "a", status: "ok", n: 8 },
        { service: "a", status: "error", n: 2 },
        { service: "b", status: "unset", n: 30 },
      ],
      [
        { service: "a", p50: 10, p95: 20, p99: 30 },
        { service: "b", p50: 1, p95: 2, p99: 3 },
      ],
      [
        { service: "a", spans: 25 },
        { service: "b", spans: 60 },
        { service: "c", spans: 4 },
      ],
    );
    expect(stats.map((s) => s.service)).toEqual(["b", "a", "c"]);
    expect(stats[1]).toEqual({ service: "a", requests: 10, errors: 2, errorPct: 20, p50: 10, p95: 20, p99: 30, spans: 25 });
    expect(stats[2]).toMatchObject({ service: "c", requests: 0, errorPct: null, p95: null });
    expect(totals(stats)).toEqual({ requests: 40, errors: 2, errorPct: 5 });
  });
});

describe("pickStep", () => {
  it("picks the smallest step within the bucket budget", () => {
    expect(pickStep(3600_000, 60)).toEqual({ step: "1m", seconds: 60 });
    expect(pickStep(3600_000, 150)).toEqual({ step: "30s", seconds: 30 });
    expect(pickStep(15 * 60_000, 60)).toEqual({ step: "15s", seconds: 15 });
    expect(pickStep(7 * 86400_000, 60)).toEqual({ step: "3h", seconds: 10800 });
    expect(pickStep(3650 * 86400_000, 60)).toEqual({ step: "1d", seconds: 86400 });
  });
});

describe("requestSeries", () => {
  it("fills every bucket, turns counts into rates and failed shares", () => {
    const from = Date.parse("2026-01-01T10:00:00Z");
    const to = from + 5 * 60_000;
    const s = requestSeries(
      [
        { t: "2026-01-01T10:01:00Z", failed: false, n: 6 },
        { t: "2026-01-01T10:01:00Z", failed: true, n: 6 },
        { t: "2026-01-01T10:03:00Z", failed: false, n: 60 },
        { t: "2026-01-01T11:00:00Z", failed: false, n: 99 },
      ],
      from,
      to,
      60,
    );
    expect(s.x).toHaveLength(5);
    expect(s.x[0]).toBe(from / 1000);
    expect(s.rate).toEqual([0, 0.2, 0, 1, 0]);
    expect(s.errorPct).toEqual([null, 50, null, 0, null]);
  });
  it("aligns the first bucket to the step", () => {
    const from = Date.parse("2026-01-01T10:00:30Z");
    const s = requestSeries([], from, from + 120_000, 60);
    expect(s.x[0]).toBe(Date.parse("2026-01-01T10:00:00Z") / 1000);
    expect(s.x).toHaveLength(3);
  });
});
