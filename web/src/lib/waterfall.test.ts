// Unit tests of the waterfall layout: nesting, orphans, cycles, the critical path, collapse,
// zoom geometry, ruler ticks, and a 10 000-span trace built quickly.
import { describe, expect, it } from "vitest";
import { buildWaterfall, clampView, collapsible, formatView, parseView, project, revealing, rulerTicks, visibleRows, type SpanInput } from "./waterfall";

interface S extends SpanInput {
  name: string;
}
const span = (id: string, parentId: string | null, start: number, duration: number, name = id): S => ({ id, parentId, start, duration, name });
const names = (wf: ReturnType<typeof buildWaterfall<S>>, rows: Int32Array | number[]) => [...rows].map((k) => wf.nodes[k].span.name);

/** The known trace of e2e/seed.ts (offsets in ms from the trace start). */
const KNOWN: S[] = [
  span("0", null, 0, 480, "GET /checkout"),
  span("1", "0", 5, 40, "render cart"),
  span("2", "0", 50, 420, "POST /api/checkout"),
  span("3", "2", 60, 30, "load cart"),
  span("4", "2", 95, 80, "reserve stock"),
  span("5", "4", 100, 60, "SELECT stock"),
  span("6", "2", 180, 280, "POST /api/charge"),
  span("7", "6", 190, 70, "fraud check"),
  span("8", "6", 265, 190, "call card network"),
  span("9", "8", 270, 25, "tls handshake"),
  span("10", "2", 465, 4, "emit order event"),
  span("11", "0", 475, 3, "track analytics"),
];

describe("buildWaterfall", () => {
  it("nests children under parents in start order, with depths", () => {
    // Shuffled input: the tree does not depend on arrival order.
    const input = [...KNOWN].reverse();
    const wf = buildWaterfall(input);
    expect(names(wf, visibleRows(wf, new Set()))).toEqual(KNOWN.map((s) => s.name));
    const depth = Object.fromEntries(wf.nodes.map((n) => [n.span.name, n.depth]));
    expect(depth).toMatchObject({ "GET /checkout": 0, "render cart": 1, "POST /api/checkout": 1, "load cart": 2, "SELECT stock": 3, "tls handshake": 4, "track analytics": 1 });
    expect(wf.maxDepth).toBe(4);
    expect(wf.roots).toEqual([0]);
    expect(wf.nodes[0].descendants).toBe(11);
    expect(wf.nodes[wf.byId.get("2")!].descendants).toBe(8);
    expect(wf.start).toBe(0);
    expect(wf.duration).toBe(480);
    const charge = wf.nodes[wf.byId.get("6")!];
    expect(charge.offset).toBeCloseTo(180 / 480);
    expect(charge.width).toBeCloseTo(280 / 480);
    expect(names(wf, charge.children)).toEqual(["fraud check", "call card network"]);
  });

  it("makes orphans (parent never arrived) roots, ordered by start", () => {
    const wf = buildWaterfall([span("b", "missing", 20, 5), span("a", null, 0, 100), span("c", "a", 10, 5), span("d", "b", 21, 2), span("e", "", 30, 1)]);
    expect(names(wf, visibleRows(wf, new Set()))).toEqual(["a", "c", "b", "d", "e"]);
    expect(wf.roots.map((k) => wf.nodes[k].id)).toEqual(["a", "b", "e"]);
    expect(wf.nodes[wf.byId.get("b")!].orphan).toBe(true);
    expect(wf.nodes[wf.byId.get("e")!].orphan).toBe(false);
    expect(wf.nodes[wf.byId.get("d")!].depth).toBe(1);
  });

  it("breaks cycles instead of hanging, keeping every span once", () => {
    // x → y → z → x, w hangs under z, and a self-parented span.
    const wf = buildWaterfall([span("x", "z", 5, 10), span("y", "x", 6, 3), span("z", "y", 7, 1), span("w", "z", 8, 1), span("s", "s", 1, 1)]);
    const rows = names(wf, visibleRows(wf, new Set()));
    expect(rows.sort()).toEqual(["s", "w", "x", "y", "z"]);
    // The earliest span of the cycle becomes its root.
    expect(wf.nodes[wf.byId.get("x")!].parent).toBe(-1);
    expect(wf.nodes[wf.byId.get("x")!].orphan).toBe(true);
    expect(wf.nodes[wf.byId.get("w")!].depth).toBe(3);
    expect(wf.nodes[wf.byId.get("s")!].parent).toBe(-1);
  });

  it("handles an empty trace, zero-length spans and duplicate ids", () => {
    const empty = buildWaterfall([]);
    expect(empty.nodes).toEqual([]);
    expect(empty.criticalRoot).toBe(-1);
    const zero = buildWaterfall([span("a", null, 5, 0), span("a", null, 5, 0)]);
    expect(zero.duration).toBe(1);
    expect(zero.nodes).toHaveLength(2);
    expect(zero.byId.get("a")).toBe(0);
  });
});

describe("critical path", () => {
  it("walks the known trace: siblings run one after another, so each holds the path for a while", () => {
    const wf = buildWaterfall(KNOWN);
    expect(wf.criticalCount).toBe(12);
    const seg = (id: string) => wf.nodes[wf.byId.get(id)!].segments;
    // The root holds it only where no child runs.
    expect(seg("0")).toEqual([
      [0, 5],
      [45, 50],
      [470, 475],
      [478, 480],
    ]);
    expect(seg("8")).toEqual([
      [265, 270],
      [295, 455],
    ]);
    expect(seg("9")).toEqual([[270, 295]]);
    // The segments tile the trace exactly once.
    const all = wf.nodes.flatMap((n) => n.segments).sort((a, b) => a[0] - b[0]);
    expect(all.reduce((sum, [s, e]) => sum + e - s, 0)).toBe(480);
    for (let i = 1; i < all.length; i++) expect(all[i][0]).toBe(all[i - 1][1]);
  });

  it("leaves overlapped siblings and async children that outlive their parent off the path", () => {
    const wf = buildWaterfall([
      span("root", null, 0, 100),
      span("db-a", "root", 10, 40), // ends at 50, overlapped by db-b
      span("db-b", "root", 12, 78), // ends at 90: the last to finish within the root
      span("cache", "root", 2, 5), // ends at 7, before db-b starts at 12
      span("inner", "db-b", 20, 10),
      span("async", "db-b", 60, 200), // outlives db-b (90) and the root: nobody waited for it
      span("late", "root", 150, 10), // starts after the root ended
      span("skewed", "inner", 18, 4), // starts before its parent (clock skew)
    ]);
    const critical = wf.nodes.filter((n) => n.critical).map((n) => n.id);
    expect(critical.sort()).toEqual(["cache", "db-b", "inner", "root", "skewed"]);
    const seg = (id: string) => wf.nodes[wf.byId.get(id)!].segments;
    expect(seg("async")).toEqual([]);
    expect(seg("db-b")).toEqual([
      [12, 20],
      [30, 90],
    ]);
    expect(seg("skewed")).toEqual([[20, 22]]);
    expect(seg("inner")).toEqual([[22, 30]]);
    expect(seg("root")).toEqual([
      [0, 2],
      [7, 12],
      [90, 100],
    ]);
    expect(names(wf, visibleRows(wf, new Set(), true))).toEqual(["root", "cache", "db-b", "inner", "skewed"]);
  });

  it("starts from the root that ends last and survives zero-length and back-to-back spans", () => {
    const wf = buildWaterfall([span("early", null, 0, 10), span("main", null, 5, 50), span("a", "main", 5, 20), span("b", "main", 25, 30), span("z", "main", 25, 0)]);
    expect(wf.nodes[wf.criticalRoot].id).toBe("main");
    expect(wf.nodes.filter((n) => n.critical).map((n) => n.id).sort()).toEqual(["a", "b", "main"]);
  });
});

describe("rows, collapse and zoom", () => {
  it("collapses subtrees and reveals a span's ancestors", () => {
    const wf = buildWaterfall(KNOWN);
    const checkout = wf.byId.get("2")!;
    const rows = names(wf, visibleRows(wf, new Set([checkout])));
    expect(rows).toEqual(["GET /checkout", "render cart", "POST /api/checkout", "track analytics"]);
    const all = collapsible(wf);
    expect([...all].map((k) => wf.nodes[k].id).sort()).toEqual(["0", "2", "4", "6", "8"]);
    expect(names(wf, visibleRows(wf, all))).toEqual(["GET /checkout"]);
    const tls = wf.byId.get("9")!;
    const open = revealing(wf, all, tls);
    expect(names(wf, visibleRows(wf, open))).toContain("tls handshake");
    expect(open.has(wf.byId.get("4")!)).toBe(true);
    expect(revealing(wf, new Set(), tls).size).toBe(0);
  });

  it("projects bars into a zoom window and parses views from the URL", () => {
    expect(project(0.5, 0.1, { from: 0.5, to: 0.75 })).toEqual({ left: 0, width: 0.4 });
    expect(project(0.25, 0.5, { from: 0, to: 1 })).toEqual({ left: 0.25, width: 0.5 });
    expect(parseView("0.25-0.5")).toEqual({ from: 0.25, to: 0.5 });
    expect(parseView("0.5-0.25")).toEqual({ from: 0.25, to: 0.5 });
    expect(parseView("junk")).toEqual({ from: 0, to: 1 });
    expect(parseView("0-1")).toEqual({ from: 0, to: 1 });
    expect(formatView({ from: 0, to: 1 })).toBeNull();
    expect(formatView({ from: 0.1234567891, to: 0.5 })).toBe("0.123457-0.5");
    const tiny = clampView(0.3, 0.3);
    expect(tiny.to - tiny.from).toBeGreaterThan(0);
    expect(clampView(-1, 2)).toEqual({ from: 0, to: 1 });
  });

  it("puts ruler ticks on round steps inside the window", () => {
    const ticks = rulerTicks(480, { from: 0, to: 1 });
    expect(ticks.map((t) => t.at)).toEqual([0, 100, 200, 300, 400]);
    expect(ticks[1].frac).toBeCloseTo(100 / 480);
    const zoomed = rulerTicks(480, { from: 0.5, to: 0.55 });
    expect(zoomed.map((t) => t.at)).toEqual([240, 245, 250, 255, 260]);
    expect(zoomed[0].frac).toBe(0);
    expect(rulerTicks(0.8, { from: 0, to: 1 }).map((t) => t.at)).toEqual([0, 0.2, 0.4, 0.6, 0.8]);
  });
});

describe("scale", () => {
  it("builds, walks and flattens a 10 000-span trace in well under a second", () => {
    // The bulk trace of e2e/seed.ts: fan-out 10.
    const spans: S[] = [];
    for (let i = 0; i < 10_000; i++) {
      const depth = i === 0 ? 0 : Math.floor(Math.log10(i * 9 + 1));
      const start = i * 0.5 + depth;
      spans.push(span(`s${i}`, i === 0 ? null : `s${Math.floor((i - 1) / 10)}`, start, i === 0 ? 10_000 : 2 + (i % 7)));
    }
    // And a 10 000-deep chain, which recursion would not survive.
    const chain: S[] = Array.from({ length: 10_000 }, (_, i) => span(`c${i}`, i ? `c${i - 1}` : null, i, 10_000 - i));
    const t = performance.now();
    const wf = buildWaterfall(spans);
    const rows = visibleRows(wf, new Set());
    const deep = buildWaterfall(chain);
    const elapsed = performance.now() - t;
    expect(rows.length).toBe(10_000);
    expect(wf.nodes[0].descendants).toBe(9_999);
    expect(deep.maxDepth).toBe(9_999);
    expect(deep.criticalCount).toBe(10_000);
    expect(elapsed).toBeLessThan(500);
  });
});
