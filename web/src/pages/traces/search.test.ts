// Unit tests of the trace search logic: duration parsing, span conditions, joining and sorting.
import { describe, expect, it } from "vitest";
import { durationBounds, filtersFrom, parseDurationInput, scatterData, spanCondition, summarize, traceLinkRange } from "./search";

describe("trace search", () => {
  it("parses typed durations into milliseconds", () => {
    expect(parseDurationInput("")).toBeNull();
    expect(parseDurationInput("250")).toBe(250);
    expect(parseDurationInput("250ms")).toBe(250);
    expect(parseDurationInput(" 1.5s ")).toBe(1500);
    expect(parseDurationInput("2m")).toBe(120_000);
    expect(parseDurationInput("500us")).toBe(0.5);
    expect(() => parseDurationInput("fast")).toThrow(/not a duration/);
    expect(() => durationBounds({ min: "2s", max: "1s" })).toThrow(/above the maximum/);
    expect(durationBounds({ min: "", max: "1s" })).toEqual({ min: null, max: 1000 });
  });

  it("reads filters from the URL with defaults", () => {
    expect(filtersFrom(new URLSearchParams("service=checkout&min=100ms"))).toEqual({ service: "checkout", name: "", status: "", min: "100ms", max: "", sort: "newest" });
  });

  it("builds span conditions with bound parameters, never spliced text", () => {
    expect(spanCondition({ service: "", name: "", status: "" })).toEqual({ where: "", params: {} });
    expect(spanCondition({ service: "pay'ments", name: "card", status: "error" })).toEqual({
      where: "service = $service AND name ILIKE $name AND status = $status",
      params: { service: "pay'ments", name: "%card%", status: "error" },
    });
    expect(spanCondition({ service: "", name: "GET *", status: "" }).params.name).toBe("GET %");
  });

  it("joins envelopes with errors, filters by trace duration and sorts", () => {
    const env = [
      { trace_id: "a", start: "2026-01-01T00:00:00.000Z", finish: "2026-01-01T00:00:00.480Z", spans: 12 },
      { trace_id: "b", start: "2026-01-01T00:01:00.000Z", finish: "2026-01-01T00:01:00.050Z", spans: 3 },
      { trace_id: "c", start: "2026-01-01T00:02:00.000Z", finish: "2026-01-01T00:02:01.000Z", spans: 4 },
    ];
    const errs = [{ trace_id: "a", errors: 2 }];
    const all = summarize(env, errs, { min: null, max: null }, "newest");
    expect(all.map((t) => t.traceId)).toEqual(["c", "b", "a"]);
    expect(all[2]).toMatchObject({ durationMs: 480, spans: 12, errors: 2 });
    expect(summarize(env, errs, { min: 100, max: 600 }, "newest").map((t) => t.traceId)).toEqual(["a"]);
    expect(summarize(env, errs, { min: null, max: null }, "slowest").map((t) => t.traceId)).toEqual(["c", "a", "b"]);
    expect(summarize(env, errs, { min: null, max: null }, "errors")[0].traceId).toBe("a");
    const { data, order } = scatterData(all);
    expect(order.map((t) => t.traceId)).toEqual(["a", "b", "c"]);
    expect(data[1]).toEqual([null, 50, 1000]);
    expect(data[2]).toEqual([480, null, null]);
  });

  it("links a trace with a range around it", () => {
    const start = Date.parse("2026-01-01T10:00:00.400Z");
    expect(traceLinkRange(start, 2000)).toEqual({ from: "2026-01-01T09:59:00Z", to: "2026-01-01T10:01:03Z" });
  });
});
