// Unit tests of the logs explorer's logic: the queries it builds, error positions mapped into
// the filter, histogram pivoting, row keys and the live tail merge, frequent keys, context.
import { describe, expect, it } from "vitest";
import {
  contextHref,
  contextQueries,
  contextWindow,
  filterPosition,
  frequentKeys,
  histogramData,
  histogramQuery,
  mergeNewer,
  parseContext,
  parseLimit,
  rowKey,
  rowsQuery,
  sortLevels,
  tailQuery,
  toRows,
  topValuesQuery,
  withFilter,
  type LogRow,
} from "./logs";

function row(ts: string, over: Partial<LogRow> = {}): LogRow {
  const r = { timestamp: ts, level: "info", service: "checkout", host: "web-1", body: `line at ${ts}`, trace_id: null, span_id: null, attributes: {}, resource: {}, key: "", ...over };
  r.key = rowKey(r);
  return r;
}

describe("queries", () => {
  it("puts the filter on its own lines, in parentheses", () => {
    expect(withFilter("count(*)", "a = 1 OR b = 2", ["timestamp >= $since"], "LIMIT 1")).toBe("SELECT count(*) FROM logs\nWHERE (\na = 1 OR b = 2\n) AND timestamp >= $since\nLIMIT 1");
    expect(withFilter("count(*)", "  ", [], "")).toBe("SELECT count(*) FROM logs");
    expect(withFilter("count(*)", "", ["x = 1"], "")).toBe("SELECT count(*) FROM logs\nWHERE x = 1");
  });
  it("builds the page's queries", () => {
    expect(rowsQuery("level = 'error'", 500)).toBe(
      "SELECT timestamp, level, service, host, body, trace_id, span_id, attributes, resource FROM logs\nWHERE (\nlevel = 'error'\n)\nORDER BY timestamp DESC LIMIT 500",
    );
    expect(tailQuery("", 100)).toContain("WHERE timestamp >= $since\nORDER BY timestamp DESC LIMIT 100");
    expect(histogramQuery("")).toBe("SELECT bucket() AS t, level, count(*) AS n FROM logs\nGROUP BY t, level ORDER BY t");
    expect(topValuesQuery("attributes.http.route", "service = 'a'")).toBe(
      "SELECT attributes['http.route'] AS v, count(*) AS n FROM logs\nWHERE (\nservice = 'a'\n)\nGROUP BY v ORDER BY n DESC LIMIT 8",
    );
  });
  it("reads the row limit from the URL", () => {
    expect(parseLimit(null)).toBe(1000);
    expect(parseLimit("10000")).toBe(10000);
    expect(parseLimit("99999")).toBe(10000);
    expect(parseLimit("abc")).toBe(1000);
  });
});

describe("filterPosition", () => {
  it("maps the server's line and column into the filter", () => {
    const q = "service = 'che";
    // As the server answers for `...WHERE (\nservice = 'che\n)`: the quote on line 3.
    expect(filterPosition({ line: 3, column: 11 }, q)).toEqual({ line: 1, column: 11 });
  });
  it("points past the end for errors at the closing parenthesis", () => {
    expect(filterPosition({ line: 4, column: 1 }, "service = ")).toEqual({ line: 1, column: 11 });
  });
  it("answers null for positions outside the filter or none", () => {
    expect(filterPosition({ line: 1, column: 8 }, "a = 1")).toBeNull();
    expect(filterPosition({}, "a = 1")).toBeNull();
    expect(filterPosition(undefined, "a = 1")).toBeNull();
    expect(filterPosition({ line: 3, column: 2 }, "")).toBeNull();
  });
});

describe("rows", () => {
  it("reads answers by column name and keys rows", () => {
    const rows = toRows({
      columns: [{ name: "body", type: "string" }, { name: "timestamp", type: "timestamp" }, { name: "attributes", type: "map" }, { name: "service", type: "string" }],
      rows: [["hello", "2026-11-22T10:00:00.123Z", { k: "v" }, null]],
      truncated: false,
      stats: {},
    });
    expect(rows[0]).toMatchObject({ body: "hello", timestamp: "2026-11-22T10:00:00.123Z", attributes: { k: "v" }, resource: {}, service: null, host: null, level: null });
    expect(rows[0].key).toMatch(/^2026-11-22T10:00:00.123Z~[0-9a-f]{8}$/);
  });
  it("keys tell apart lines of the same instant", () => {
    expect(row("2026-11-22T10:00:00.000Z", { body: "a" }).key).not.toBe(row("2026-11-22T10:00:00.000Z", { body: "b" }).key);
    expect(row("2026-11-22T10:00:00.000Z", { body: "a" }).key).toBe(row("2026-11-22T10:00:00.000Z", { body: "a" }).key);
  });
  it("merges the live tail on top without repeats, keeping the newest", () => {
    const shown = [row("2026-11-22T10:00:02.000Z"), row("2026-11-22T10:00:01.000Z"), row("2026-11-22T10:00:00.000Z")];
    const incoming = [row("2026-11-22T10:00:04.000Z"), row("2026-11-22T10:00:03.000Z"), row("2026-11-22T10:00:02.000Z")];
    const { rows, added } = mergeNewer(shown, incoming, 4);
    expect(added).toBe(2);
    expect(rows.map((r) => r.timestamp)).toEqual(["2026-11-22T10:00:04.000Z", "2026-11-22T10:00:03.000Z", "2026-11-22T10:00:02.000Z", "2026-11-22T10:00:01.000Z"]);
    expect(mergeNewer(shown, [shown[0]], 10)).toEqual({ rows: shown, added: 0 });
    expect(mergeNewer(shown, [], 10).rows).toBe(shown);
  });
});

describe("histogramData", () => {
  const from = Date.parse("2026-11-22T10:00:00Z");
  const to = from + 5 * 60e3;
  it("zero-fills every bucket and orders levels by severity", () => {
    const h = histogramData(
      [
        ["2026-11-22T10:01:00Z", "info", 3],
        ["2026-11-22T10:01:00Z", "error", 1],
        ["2026-11-22T10:03:00Z", "info", 2],
        ["2026-11-22T10:03:00Z", null, 4],
      ],
      60,
      from,
      to,
    );
    expect(h.levels).toEqual(["error", "info", "unknown"]);
    expect(h.data[0]).toEqual([0, 1, 2, 3, 4].map((i) => from / 1000 + i * 60));
    expect(h.data[1]).toEqual([0, 1, 0, 0, 0]);
    expect(h.data[2]).toEqual([0, 3, 0, 2, 0]);
    expect(h.data[3]).toEqual([0, 0, 0, 4, 0]);
    expect(h.total).toBe(10);
    expect(h.byLevel).toEqual({ error: 1, info: 5, unknown: 4 });
  });
  it("keeps buckets off the grid and copes with no step", () => {
    const h = histogramData([["2026-11-22T10:01:30Z", "warn", 1]], null, from, to);
    expect(h.data).toEqual([[from / 1000 + 90], [1]]);
  });
  it("sorts levels", () => {
    expect(sortLevels(["info", "zzz", "fatal", "debug", "aaa", "info"])).toEqual(["fatal", "info", "debug", "aaa", "zzz"]);
  });
});

describe("frequentKeys", () => {
  it("picks frequent keys and skips identifiers", () => {
    const rows = Array.from({ length: 40 }, (_, i) =>
      row(`2026-11-22T10:00:${String(i).padStart(2, "0")}.000Z`, { attributes: { "http.route": ["/a", "/b"][i % 2], "request.id": `r${i}`, ...(i % 4 === 0 ? { rare: "x" } : {}) } }),
    );
    expect(frequentKeys(rows, "attributes")).toEqual(["http.route", "rare"]);
    expect(frequentKeys(rows, "attributes", 1)).toEqual(["http.route"]);
    expect(frequentKeys(rows, "attributes", 4, ["http.route"])).toEqual(["rare"]);
    // Identifiers are found in large samples too.
    const many = Array.from({ length: 3000 }, (_, i) => row(`2026-11-22T10:00:00.000Z`, { body: String(i), attributes: { i: String(i), kind: String(i % 3) } }));
    expect(frequentKeys(many, "attributes")).toEqual(["kind"]);
    // Few rows: nothing is called an identifier yet.
    expect(frequentKeys(rows.slice(0, 3), "attributes").sort()).toEqual(["http.route", "rare", "request.id"]);
  });
});

describe("context", () => {
  const target = row("2026-11-22T10:00:00.123Z", { service: "o'brien", host: "web 1" });
  it("round-trips the URL", () => {
    const href = contextHref(target, 10);
    expect(href.startsWith("/logs/context?")).toBe(true);
    const parsed = parseContext(new URLSearchParams(href.split("?")[1]));
    expect(parsed).toEqual({ t: target.timestamp, service: "o'brien", host: "web 1", key: target.key, n: 10 });
    expect(parseContext(new URLSearchParams("t=nope"))).toBeNull();
    expect(parseContext(new URLSearchParams("t=2026-11-22T10:00:00Z&n=100000"))?.n).toBe(500);
  });
  it("binds service and host as parameters, NULLs as IS NULL", () => {
    const q = contextQueries({ t: target.timestamp, service: "o'brien", host: null, key: null, n: 5 });
    expect(q.before.query).toContain("service = $service AND host IS NULL AND timestamp < $next");
    expect(q.before.query).toContain("ORDER BY timestamp DESC LIMIT 25");
    expect(q.after.query).toContain("timestamp >= $next\nORDER BY timestamp ASC LIMIT 5");
    expect(q.before.params).toEqual({ next: "2026-11-22T10:00:00.124Z", service: "o'brien" });
    expect(q.before.to).toBe("2026-11-22T10:00:01.123Z");
    expect(q.after.from).toBe("2026-11-22T10:00:00.123Z");
  });
  it("keeps n lines each side of the line", () => {
    const at = (s: number) => row(`2026-11-22T10:00:${String(s).padStart(2, "0")}.000Z`);
    const before = [at(30), at(29), at(28), at(27), at(26)]; // newest first, the line is 30
    const after = [at(31), at(32), at(33)];
    const w = contextWindow(before, after, { t: at(30).timestamp, service: "checkout", host: "web-1", key: at(30).key, n: 2 });
    expect(w.rows.map((r) => r.timestamp.slice(17, 19))).toEqual(["28", "29", "30", "31", "32"]);
    expect(w.index).toBe(2);
    const gone = contextWindow(before, after, { t: at(30).timestamp, service: "checkout", host: "web-1", key: "nope", n: 1 });
    expect(gone.index).toBe(-1);
    expect(gone.rows.map((r) => r.timestamp.slice(17, 19))).toEqual(["29", "30", "31"]);
  });
});
