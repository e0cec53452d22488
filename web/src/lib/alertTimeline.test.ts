// Unit tests of the preview timeline: segments of equal state, the rule's worst state per
// tick, instance ordering, chart series, strip layout and the summary sentence.
import { describe, expect, it } from "vitest";
import { type Preview, type TickState, chartData, segments, stripLayout, summary, tickCount, timeline, worst } from "./alertTimeline";

const T0 = Date.parse("2026-11-22T10:00:00Z");
const MIN = 60_000;
const at = (m: number) => new Date(T0 + m * MIN).toISOString();

describe("segments", () => {
  it("merges runs of one state, each lasting to the next run", () => {
    const times = [0, 1, 2, 3, 4].map((m) => T0 + m * MIN);
    const states: TickState[] = ["normal", "pending", "firing", "firing", "normal"];
    expect(segments(times, states, T0 + 5 * MIN)).toEqual([
      { state: "normal", from: T0, to: T0 + MIN, ticks: 1 },
      { state: "pending", from: T0 + MIN, to: T0 + 2 * MIN, ticks: 1 },
      { state: "firing", from: T0 + 2 * MIN, to: T0 + 4 * MIN, ticks: 2 },
      { state: "normal", from: T0 + 4 * MIN, to: T0 + 5 * MIN, ticks: 1 },
    ]);
    expect(segments([], [], 0)).toEqual([]);
  });
  it("picks the worst state", () => {
    expect(worst(["normal", "firing", "pending"])).toBe("firing");
    expect(worst(["none", "no_data"])).toBe("no_data");
    expect(worst([])).toBe("none");
  });
});

const PREVIEW: Preview = {
  method: "bucketed",
  ticks: [
    { at: at(0), instances: [] },
    {
      at: at(1),
      instances: [
        { fingerprint: "a", labels: { alertname: "E", service: "checkout", team: "p" }, value: 60, state: "firing" },
        { fingerprint: "b", labels: { alertname: "E", service: "search", team: "p" }, value: 10, state: "normal" },
      ],
    },
    { at: at(2), instances: [{ fingerprint: "a", labels: { alertname: "E", service: "checkout", team: "p", severity: "critical" }, value: 70, state: "firing" }] },
    { at: at(3), instances: [{ fingerprint: "a", labels: { service: "checkout", team: "p" }, value: 5, state: "normal" }] },
  ],
  notifications: [
    { at: at(1), type: "alert.firing", status: "firing", alerts: [] },
    { at: at(3), type: "alert.resolved", status: "resolved", alerts: [] },
  ],
};

describe("timeline", () => {
  const tl = timeline(PREVIEW, { intervalMs: MIN, ruleLabels: { team: "p" } });
  it("aligns every instance's values and states to the ticks", () => {
    expect(tl.times).toEqual([0, 1, 2, 3].map((m) => T0 + m * MIN));
    expect(tl.end).toBe(T0 + 4 * MIN);
    expect(tl.instances.map((i) => i.name)).toEqual(["service=checkout", "service=search"]);
    const [checkout, search] = tl.instances;
    expect(checkout.values).toEqual([null, 60, 70, 5]);
    expect(checkout.states).toEqual(["none", "firing", "firing", "normal"]);
    expect(checkout.peak).toBe(70);
    expect(checkout.firings).toBe(1);
    expect(search.states).toEqual(["none", "normal", "none", "none"]);
    expect(tl.rule.states).toEqual(["none", "firing", "firing", "normal"]);
    expect(tl.rule.segments.map((s) => [s.state, s.ticks])).toEqual([
      ["none", 1],
      ["firing", 2],
      ["normal", 1],
    ]);
    expect(tl.firings).toBe(1);
  });
  it("makes chart series with a threshold line", () => {
    const { data, names } = chartData(tl, 50, 1);
    expect(names).toEqual(["service=checkout", "threshold"]);
    expect(data[0]).toEqual(tl.times.map((t) => t / 1000));
    expect(data[1]).toEqual([null, 60, 70, 5]);
    expect(data[2]).toEqual([50, 50, 50, 50]);
    expect(chartData(tl, null).names).toEqual(["service=checkout", "service=search"]);
  });
  it("lays segments out as fractions of the range, without empty runs", () => {
    const strip = stripLayout(tl.rule.segments, T0, T0 + 4 * MIN);
    expect(strip.map(({ state, left, width }) => ({ state, left, width }))).toEqual([
      { state: "firing", left: 0.25, width: 0.5 },
      { state: "normal", left: 0.75, width: 0.25 },
    ]);
    expect(stripLayout(tl.rule.segments, T0 + 2 * MIN, T0 + 2 * MIN)).toEqual([]);
    // Clipped to the range.
    expect(stripLayout(tl.rule.segments, T0 + 2 * MIN, T0 + 4 * MIN)[0]).toMatchObject({ state: "firing", left: 0, width: 0.5 });
  });
  it("sums it up in words", () => {
    expect(summary(tl)).toBe("Would have fired 1 time (service=checkout); 2 notifications over 4 ticks.");
    const quiet = timeline({ ticks: [{ at: at(0), instances: [{ fingerprint: "x", labels: {}, value: 1, state: "pending" }] }], notifications: [] }, { intervalMs: MIN, ruleName: "Errors" });
    expect(quiet.instances[0].name).toBe("Errors");
    expect(summary(quiet)).toBe("Would not have fired; 1 series was pending without firing; 0 notifications over 1 ticks.");
    expect(summary(timeline({ ticks: [], notifications: [] }, { intervalMs: MIN }))).toBe("The range holds no tick.");
  });
  it("counts ticks as the server does", () => {
    expect(tickCount(20 * MIN, MIN)).toBe(21);
    expect(tickCount(24 * 60 * MIN, MIN)).toBe(1441);
  });
});
