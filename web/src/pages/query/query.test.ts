// Tests of the query page's pure parts: the chart of a result, cells, parameters, panels.
import { describe, expect, it } from "vitest";
import type { OqlResult } from "../../lib/api";
import { countKeys } from "../../components/editor/schema";
import { editorErrors } from "../../components/editor/errors";
import { ApiError } from "../../lib/api";
import { appendPanel, editableDoc, formatCell, panelTitle, parseParamValue, suggestKind, type DashboardDoc } from "./model";
import { chartOf } from "./resultChart";

const result = (columns: [string, string][], rows: unknown[][], bucket: string | null = null): OqlResult => ({
  columns: columns.map(([name, type]) => ({ name, type })),
  rows,
  truncated: false,
  stats: { bucket: bucket ?? undefined },
});

describe("chartOf", () => {
  it("is null without a timestamp and a number", () => {
    expect(chartOf(result([["level", "string"], ["count(*)", "integer"]], [["info", 3]]))).toBeNull();
    expect(chartOf(result([["t", "timestamp"], ["body", "string"]], [["2026-01-01T00:00:00Z", "x"]]))).toBeNull();
  });

  it("splits bucketed counts by the string column and fills empty buckets with zero", () => {
    const r = result(
      [["t", "timestamp"], ["service", "string"], ["count(*)", "integer"]],
      [
        ["2026-01-01T00:00:00Z", "web", 2],
        ["2026-01-01T00:00:00Z", "api", 1],
        ["2026-01-01T00:03:00Z", "web", 5],
      ],
      "1m",
    );
    const chart = chartOf(r)!;
    const t0 = Date.parse("2026-01-01T00:00:00Z") / 1000;
    expect(chart.data[0]).toEqual([t0, t0 + 60, t0 + 120, t0 + 180]);
    expect(chart.series.map((s) => s.label)).toEqual(["api", "web"]);
    expect(chart.data[1]).toEqual([1, 0, 0, 0]);
    expect(chart.data[2]).toEqual([2, 0, 0, 5]);
    expect(chart.bucketed).toBe(true);
    expect(chart.series[0].kind).toBe("line");
  });

  it("leaves gaps in averages and names series by column when there are several", () => {
    const r = result(
      [["t", "timestamp"], ["avg(x)", "float"], ["max(x)", "float"]],
      [
        ["2026-01-01T00:02:00Z", 2.5, 4],
        ["2026-01-01T00:00:00Z", 1.5, 3],
      ],
      "1m",
    );
    const chart = chartOf(r)!;
    expect(chart.series.map((s) => s.label)).toEqual(["avg(x)", "max(x)"]);
    expect(chart.data[1]).toEqual([1.5, null, 2.5]);
  });

  it("draws unbucketed rows as points and keeps the biggest series", () => {
    const rows = Array.from({ length: 20 }, (_, i) => [`2026-01-01T00:00:0${i % 10}Z`, `s${i}`, i]);
    const chart = chartOf(result([["timestamp", "timestamp"], ["service", "string"], ["duration_ms", "float"]], rows), 5)!;
    expect(chart.series).toHaveLength(5);
    expect(chart.dropped).toBe(15);
    expect(chart.series.map((s) => s.label).sort()).toEqual(["s15", "s16", "s17", "s18", "s19"]);
    expect(chart.series[0].kind).toBe("points");
  });
});

describe("formatCell", () => {
  it("keeps integers whole and floats short", () => {
    expect(formatCell(431, "integer")).toEqual({ text: "431", kind: "num" });
    expect(formatCell(58.606796232585864, "float")).toEqual({ text: "58.6068", title: "58.606796232585864", kind: "num" });
    expect(formatCell(0.5, "float")).toEqual({ text: "0.5", kind: "num" });
    expect(formatCell(null, "string")).toEqual({ text: "null", kind: "null" });
    expect(formatCell({ a: 1 }, "map")).toEqual({ text: '{"a":1}', kind: "json" });
    expect(formatCell("x".repeat(400), "string").text).toHaveLength(301);
    expect(formatCell("2026-01-01T00:00:00Z", "timestamp").kind).toBe("time");
  });
});

describe("parameters", () => {
  it("reads JSON-looking text as JSON, the rest as strings", () => {
    expect(parseParamValue("42")).toBe(42);
    expect(parseParamValue("true")).toBe(true);
    expect(parseParamValue('["web","api"]')).toEqual(["web", "api"]);
    expect(parseParamValue("checkout")).toBe("checkout");
    expect(parseParamValue("[not json")).toBe("[not json");
  });
});

describe("panels", () => {
  const doc: DashboardDoc = {
    title: "Ops",
    panels: [
      { id: "errors", title: "Errors", kind: "timeseries", query: "q", layout: { x: 0, y: 0, w: 12, h: 8 } },
      { id: "logs-count-2", title: "", kind: "stat", query: "q", layout: { x: 12, y: 4, w: 6, h: 6 } },
    ],
  };

  it("goes below the others with an id of its own", () => {
    const { doc: next, id } = appendPanel(doc, { title: "Errors", kind: "timeseries", query: "SELECT 1 FROM logs" });
    expect(id).toBe("errors-2");
    expect(next.panels).toHaveLength(3);
    expect(next.panels[2]).toMatchObject({ id: "errors-2", layout: { x: 0, y: 10, w: 12, h: 8 }, query: "SELECT 1 FROM logs" });
    expect(doc.panels).toHaveLength(2);
    expect(appendPanel({ title: "new", panels: [] }, { title: "!!!", kind: "table", query: "q" })).toMatchObject({ id: "query", doc: { panels: [{ layout: { y: 0, w: 24 } }] } });
  });

  it("suggests a kind from the query and its answer", () => {
    expect(suggestKind("SELECT bucket() AS t, count(*) FROM logs GROUP BY t", undefined, false)).toBe("timeseries");
    expect(suggestKind("SELECT count(*) FROM logs", { columns: [{ type: "integer" }], rows: [[3]] }, false)).toBe("stat");
    expect(suggestKind("SELECT level, count(*) FROM logs GROUP BY level", { columns: [{ type: "string" }, { type: "integer" }], rows: [] }, false)).toBe("table");
  });

  it("titles a panel by table and selection", () => {
    expect(panelTitle("SELECT bucket() AS t, count(*)\nFROM logs GROUP BY t")).toBe("logs: bucket() AS t, count(*)");
  });

  it("drops what a PUT does not set", () => {
    expect(editableDoc({ id: "1", version: 3, title: "x", panels: [], created_by: "a", updated_by: "b", created_at: "c", updated_at: "d" })).toEqual({ title: "x", panels: [] });
  });
});

describe("editor helpers", () => {
  it("counts map keys over sampled rows", () => {
    expect(countKeys([{ a: 1, b: 2 }, { a: 3 }, null, { c: 1 }])).toEqual([
      { key: "a", rows: 2 },
      { key: "b", rows: 1 },
      { key: "c", rows: 1 },
    ]);
  });

  it("reads an OQL error's position and hint", () => {
    const e = new ApiError(400, "oql_unknown", "no column levl", { line: 1, column: 8, hint: "did you mean `level`?" });
    expect(editorErrors(e)).toEqual([{ message: "no column levl", line: 1, column: 8, hint: "did you mean `level`?", code: "oql_unknown" }]);
    expect(editorErrors(new Error("offline"))).toEqual([{ message: "offline" }]);
    expect(editorErrors(null)).toEqual([]);
  });
});
