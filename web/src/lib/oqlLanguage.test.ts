// Tests of the OQL editor helpers: tokens, completion sites, error ranges, time ranges.
import { describe, expect, it } from "vitest";
import { completionSite, errorRange, findTimeRange, offsetOf, paramsOf, quoteIdent, quoteString, stripTimeRange, tableOf, tokenize } from "./oqlLanguage";

const kinds = (text: string) => tokenize(text).map((t) => [t.type, t.text]);

describe("tokenize", () => {
  it("splits a query the way the server's lexer does", () => {
    expect(kinds("SELECT count(*) FROM logs WHERE level = 'it''s' AND x >= 1.5 LAST 1h -- done")).toEqual([
      ["keyword", "SELECT"],
      ["function", "count"],
      ["punctuation", "("],
      ["operator", "*"],
      ["punctuation", ")"],
      ["keyword", "FROM"],
      ["identifier", "logs"],
      ["keyword", "WHERE"],
      ["identifier", "level"],
      ["operator", "="],
      ["string", "'it''s'"],
      ["keyword", "AND"],
      ["identifier", "x"],
      ["operator", ">="],
      ["number", "1.5"],
      ["keyword", "LAST"],
      ["duration", "1h"],
      ["comment", "-- done"],
    ]);
  });

  it("knows map keys, parameters, quoted identifiers, atoms and dotted names", () => {
    expect(kinds(`select attributes['http.route'], "my col" from host.x where s in ($svc) and b is not null`)).toEqual([
      ["keyword", "select"],
      ["identifier", "attributes"],
      ["punctuation", "["],
      ["mapKey", "'http.route'"],
      ["punctuation", "]"],
      ["punctuation", ","],
      ["quotedIdent", '"my col"'],
      ["keyword", "from"],
      ["identifier", "host.x"],
      ["keyword", "where"],
      ["identifier", "s"],
      ["keyword", "in"],
      ["punctuation", "("],
      ["param", "$svc"],
      ["punctuation", ")"],
      ["keyword", "and"],
      ["identifier", "b"],
      ["keyword", "is"],
      ["keyword", "not"],
      ["atom", "null"],
    ]);
  });

  it("a function is a word before a parenthesis, with or without space", () => {
    expect(kinds("p95 (duration_ms) bucket()")).toEqual([
      ["function", "p95"],
      ["punctuation", "("],
      ["identifier", "duration_ms"],
      ["punctuation", ")"],
      ["function", "bucket"],
      ["punctuation", "("],
      ["punctuation", ")"],
    ]);
  });

  it("keeps going past what the server refuses", () => {
    const tokens = tokenize("SELECT 5x, 1.5h, $ FROM logs WHERE a = 'open");
    expect(tokens.map((t) => t.type)).toEqual(["keyword", "invalid", "punctuation", "invalid", "punctuation", "invalid", "keyword", "identifier", "keyword", "identifier", "operator", "string"]);
    expect(tokens[tokens.length - 1]).toMatchObject({ text: "'open", unterminated: true });
    expect(tokenize("a ~ b").map((t) => t.type)).toEqual(["identifier", "invalid", "identifier"]);
  });

  it("covers the text with ordered, non-overlapping tokens", () => {
    const text = "SELECT bucket() AS t,\n  service, count(*) FROM logs GROUP BY t, service -- x\nORDER BY t";
    const tokens = tokenize(text);
    for (let i = 1; i < tokens.length; i++) expect(tokens[i].from).toBeGreaterThanOrEqual(tokens[i - 1].to);
    for (const t of tokens) expect(text.slice(t.from, t.to)).toBe(t.text);
  });
});

describe("tableOf", () => {
  it("is the name after FROM", () => {
    expect(tableOf("SELECT count(*) FROM spans WHERE x = 1")).toBe("spans");
    expect(tableOf('SELECT * FROM "host" LAST 1h')).toBe("host");
    expect(tableOf("DESCRIBE logs")).toBe("logs");
    expect(tableOf("SELECT 1")).toBeNull();
    expect(tableOf("SELECT 'FROM x' FROM -- from y\n metrics")).toBe("metrics");
  });
});

describe("completionSite", () => {
  const at = (text: string) => {
    const pos = text.indexOf("|");
    return completionSite(text.replace("|", ""), pos);
  };

  it("offers tables after FROM and DESCRIBE", () => {
    expect(at("SELECT count(*) FROM |")).toMatchObject({ kind: "table", prefix: "", from: 21 });
    expect(at("SELECT count(*) FROM lo|")).toMatchObject({ kind: "table", prefix: "lo", from: 21 });
    expect(at("describe sp|")).toMatchObject({ kind: "table", prefix: "sp" });
  });

  it("offers columns of the FROM table after SELECT and WHERE, even before FROM is read", () => {
    expect(at("SELECT lev| FROM logs")).toMatchObject({ kind: "column", prefix: "lev", table: "logs", from: 7 });
    expect(at("SELECT count(*) FROM spans WHERE dur|")).toMatchObject({ kind: "column", prefix: "dur", table: "spans" });
    expect(at("SELECT avg(|) FROM host")).toMatchObject({ kind: "column", prefix: "", table: "host" });
    expect(at("SELECT x FROM logs WHERE a = 1 AND |")).toMatchObject({ kind: "column", table: "logs" });
  });

  it("offers keywords at the start and after SHOW, GROUP and ORDER", () => {
    expect(at("|")).toMatchObject({ kind: "keyword", keywords: ["SELECT", "SHOW TABLES", "DESCRIBE"] });
    expect(at("SHOW |")).toMatchObject({ kind: "keyword", keywords: ["TABLES"] });
    expect(at("SELECT x FROM logs GROUP |")).toMatchObject({ kind: "keyword", keywords: ["BY"] });
  });

  it("offers map keys inside attributes[...]", () => {
    expect(at("SELECT attributes['http.r|'] FROM logs")).toMatchObject({ kind: "mapKey", map: "attributes", prefix: "http.r", quoted: true, from: 19 });
    expect(at("SELECT resource[|] FROM logs")).toMatchObject({ kind: "mapKey", map: "resource", quoted: false });
  });

  it("offers nothing inside strings, comments, numbers and parameters", () => {
    expect(at("SELECT x FROM logs WHERE a = 'lo|'").kind).toBe("none");
    expect(at("SELECT x FROM logs -- lo|").kind).toBe("none");
    expect(at("SELECT x FROM logs LAST 1|").kind).toBe("none");
    expect(at("SELECT x FROM logs WHERE a = $sv|").kind).toBe("none");
  });
});

describe("error positions", () => {
  it("counts 1-based lines and characters", () => {
    const text = "SELECT x\nFROM  logs";
    expect(offsetOf(text, 1, 1)).toBe(0);
    expect(offsetOf(text, 2, 7)).toBe(15);
    expect(offsetOf("é x y", 1, 3)).toBe(2);
    // A character outside the BMP is one column but two UTF-16 units.
    expect(offsetOf("'😀' x", 1, 5)).toBe(5);
    expect(offsetOf(text, 9, 1)).toBe(text.length);
    expect(offsetOf(text, 1, 99)).toBe(8);
  });

  it("marks the token at the position", () => {
    // The server answers column 8 for the unknown column here.
    const text = "SELECT levl FROM logs";
    expect(errorRange(text, 1, 8)).toEqual({ from: 7, to: 11 });
    const syntax = "SELECT count(*)\nFROM logs WHERE level = = 'error'";
    const r = errorRange(syntax, 2, 25);
    expect(syntax.slice(r.from, r.to)).toBe("=");
    expect(r.from).toBe(16 + 24);
    // Past the end: an empty range at the end.
    expect(errorRange("SELECT", 1, 7)).toEqual({ from: 6, to: 6 });
  });
});

describe("parameters and time ranges", () => {
  it("lists parameters once, in order", () => {
    expect(paramsOf("SELECT x FROM logs WHERE service IN ($svc) AND level = $lvl OR service = $svc")).toEqual(["svc", "lvl"]);
    expect(paramsOf("SELECT '$no' FROM logs")).toEqual([]);
  });

  it("finds the query's own range wherever it sits", () => {
    expect(findTimeRange("SELECT count(*) FROM logs LAST 15m")?.text).toBe("LAST 15m");
    expect(findTimeRange("SELECT count(*) FROM logs since now() - 2h until now() WHERE x = 1")?.text).toBe("since now() - 2h until now()");
    expect(findTimeRange("SELECT count(*) FROM logs BETWEEN '2026-11-22T10:00:00Z' AND '2026-11-22T11:00:00Z' GROUP BY x")?.text).toBe(
      "BETWEEN '2026-11-22T10:00:00Z' AND '2026-11-22T11:00:00Z'",
    );
    expect(findTimeRange("SELECT count(*) FROM logs WHERE body = 'last 1h'")).toBeNull();
    expect(findTimeRange("SELECT count(*) FROM logs -- LAST 1h")).toBeNull();
  });

  it("cuts the range out for dashboards and alerts", () => {
    expect(stripTimeRange("SELECT count(*) FROM logs LAST 1h")).toEqual({ query: "SELECT count(*) FROM logs", removed: "LAST 1h" });
    expect(stripTimeRange("SELECT count(*) FROM logs SINCE now() - 2h WHERE level = 'error'")).toEqual({
      query: "SELECT count(*) FROM logs WHERE level = 'error'",
      removed: "SINCE now() - 2h",
    });
    expect(stripTimeRange("SELECT count(*)\nFROM logs\nLAST 1h\nGROUP BY service").query).toBe("SELECT count(*)\nFROM logs\nGROUP BY service");
    expect(stripTimeRange("SELECT 1 FROM logs")).toEqual({ query: "SELECT 1 FROM logs", removed: null });
  });
});

describe("quoting", () => {
  it("quotes names only when they need it", () => {
    expect(quoteIdent("logs")).toBe("logs");
    expect(quoteIdent("host.cpu")).toBe("host.cpu");
    expect(quoteIdent("order")).toBe('"order"');
    expect(quoteIdent('my "col"')).toBe('"my ""col"""');
    expect(quoteString("it's")).toBe("'it''s'");
  });
});
