// Unit tests of click-to-filter editing of OQL expressions: quoting, map fields, NULLs,
// replacing terms on the same field, and expressions the editor must not break apart.
import { describe, expect, it } from "vitest";
import { addFilter, fieldSql, filterState, filterTerms, quoteIdent, quoteString, removeField, termSql } from "./oqlFilter";

describe("quoting", () => {
  it("doubles single quotes inside strings", () => {
    expect(quoteString("checkout")).toBe("'checkout'");
    expect(quoteString("it's")).toBe("'it''s'");
    expect(quoteString("''")).toBe("''''''");
    expect(quoteString("")).toBe("''");
    expect(quoteString("a\\b")).toBe("'a\\b'");
  });
  it("quotes identifiers only when they need it", () => {
    expect(quoteIdent("service")).toBe("service");
    expect(quoteIdent("my col")).toBe('"my col"');
    expect(quoteIdent('we"ird')).toBe('"we""ird"');
  });
  it("writes map fields as map access", () => {
    expect(fieldSql("service")).toBe("service");
    expect(fieldSql("attributes.http.route")).toBe("attributes['http.route']");
    expect(fieldSql("resource.k8s.pod.name")).toBe("resource['k8s.pod.name']");
    expect(fieldSql("attributes.it's")).toBe("attributes['it''s']");
  });
  it("writes terms for values and NULLs", () => {
    expect(termSql("service", "checkout", "in")).toBe("service = 'checkout'");
    expect(termSql("service", "checkout", "out")).toBe("service != 'checkout'");
    expect(termSql("severity_number", 17, "in")).toBe("severity_number = 17");
    expect(termSql("host", null, "in")).toBe("host IS NULL");
    expect(termSql("attributes.user.id", null, "out")).toBe("attributes['user.id'] IS NOT NULL");
  });
});

describe("addFilter", () => {
  it("starts an empty expression with the term", () => {
    expect(addFilter("", "service", "checkout", "in")).toBe("service = 'checkout'");
    expect(addFilter("   ", "level", "error", "out")).toBe("level != 'error'");
  });
  it("adds terms on other fields with AND", () => {
    expect(addFilter("service = 'checkout'", "level", "error", "in")).toBe("service = 'checkout' AND level = 'error'");
  });
  it("replaces an existing term on the same field", () => {
    expect(addFilter("service = 'checkout' AND level = 'error'", "service", "payments", "in")).toBe("service = 'payments' AND level = 'error'");
    expect(addFilter("service != 'checkout'", "service", "payments", "in")).toBe("service = 'payments'");
    expect(addFilter("service = 'checkout'", "service", "checkout", "out")).toBe("service != 'checkout'");
    expect(addFilter("level = 'error' AND host IS NULL", "host", "web-1", "in")).toBe("level = 'error' AND host = 'web-1'");
  });
  it("matches fields whatever their case or quoting", () => {
    expect(addFilter("SERVICE = 'a'", "service", "b", "in")).toBe("service = 'b'");
    expect(addFilter('"service" <> \'a\'', "service", "b", "in")).toBe("service = 'b'");
  });
  it("accumulates exclusions and does not repeat a term", () => {
    const one = addFilter("", "level", "debug", "out");
    const two = addFilter(one, "level", "info", "out");
    expect(two).toBe("level != 'debug' AND level != 'info'");
    expect(addFilter(two, "level", "info", "out")).toBe(two);
    expect(addFilter("service = 'a'", "service", "a", "in")).toBe("service = 'a'");
    // Filtering in after exclusions keeps only the new term.
    expect(addFilter(two, "level", "error", "in")).toBe("level = 'error'");
  });
  it("handles tricky quoting in values and in the expression", () => {
    const q = addFilter("body = 'it''s AND not OR this'", "service", "o'brien", "in");
    expect(q).toBe("body = 'it''s AND not OR this' AND service = 'o''brien'");
    expect(addFilter(q, "service", "x", "in")).toBe("body = 'it''s AND not OR this' AND service = 'x'");
    expect(addFilter("", "body", "' OR 1=1 --", "in")).toBe("body = ''' OR 1=1 --'");
    expect(filterTerms(q).map((t) => t.value)).toEqual(["it's AND not OR this", "o'brien"]);
  });
  it("edits map fields", () => {
    const q = addFilter("attributes['http.route'] = '/cart'", "attributes.http.route", "/pay", "in");
    expect(q).toBe("attributes['http.route'] = '/pay'");
    expect(addFilter(q, "resource.http.route", "/x", "in")).toBe("attributes['http.route'] = '/pay' AND resource['http.route'] = '/x'");
    expect(addFilter(q, "attributes.user.id", null, "out")).toBe("attributes['http.route'] = '/pay' AND attributes['user.id'] IS NOT NULL");
  });
  it("replaces NULL terms", () => {
    expect(addFilter("trace_id IS NOT NULL", "trace_id", null, "in")).toBe("trace_id IS NULL");
    expect(addFilter("trace_id is null", "trace_id", null, "out")).toBe("trace_id IS NOT NULL");
    expect(addFilter("trace_id IS NOT NULL", "trace_id", null, "out")).toBe("trace_id IS NOT NULL");
    expect(addFilter("trace_id IS NULL", "trace_id", "abc", "out")).toBe("trace_id != 'abc'");
  });
  it("wraps an expression with a top-level OR in parentheses", () => {
    expect(addFilter("level = 'error' OR level = 'fatal'", "service", "checkout", "in")).toBe("(level = 'error' OR level = 'fatal') AND service = 'checkout'");
    // AND binds tighter than OR, so this one is an OR at the top too.
    expect(addFilter("a = 1 OR b = 2 AND c = 3", "c", 4, "in")).toBe("(a = 1 OR b = 2 AND c = 3) AND c = 4");
    // Once wrapped, later clicks replace the added term and leave the group alone.
    const wrapped = addFilter("service = 'a' OR service = 'b'", "service", "c", "in");
    expect(wrapped).toBe("(service = 'a' OR service = 'b') AND service = 'c'");
    expect(addFilter(wrapped, "service", "d", "in")).toBe("(service = 'a' OR service = 'b') AND service = 'd'");
  });
  it("does not split inside parentheses, brackets or BETWEEN", () => {
    expect(addFilter("(a = 1 AND b = 2) AND service = 'x'", "a", 3, "in")).toBe("(a = 1 AND b = 2) AND service = 'x' AND a = 3");
    expect(addFilter("severity_number BETWEEN 9 AND 17", "service", "x", "in")).toBe("severity_number BETWEEN 9 AND 17 AND service = 'x'");
    expect(addFilter("service IN ('a', 'b')", "service", "c", "in")).toBe("service IN ('a', 'b') AND service = 'c'");
    expect(addFilter("contains(body, 'x AND y')", "level", "info", "in")).toBe("contains(body, 'x AND y') AND level = 'info'");
  });
  it("leaves other conditions on the same field alone", () => {
    expect(addFilter("service LIKE 'pay%'", "service", "payments", "in")).toBe("service LIKE 'pay%' AND service = 'payments'");
    expect(addFilter("NOT service = 'a'", "service", "b", "in")).toBe("NOT service = 'a' AND service = 'b'");
  });
  it("keeps a broken expression intact rather than guessing", () => {
    expect(addFilter("body = 'unclosed", "level", "error", "in")).toBe("(body = 'unclosed) AND level = 'error'");
  });
  it("keeps the user's spelling of untouched terms", () => {
    expect(addFilter("level   =   'error'  and  host='web-1'", "service", "a", "in")).toBe("level   =   'error' AND host='web-1' AND service = 'a'");
  });
});

describe("filterState and removeField", () => {
  it("says whether a value is filtered in or out", () => {
    const q = "service = 'checkout' AND level != 'debug' AND host IS NULL";
    expect(filterState(q, "service", "checkout")).toBe("in");
    expect(filterState(q, "service", "payments")).toBe(null);
    expect(filterState(q, "level", "debug")).toBe("out");
    expect(filterState(q, "host", null)).toBe("in");
    expect(filterState("a = 1 OR service = 'checkout'", "service", "checkout")).toBe(null);
    expect(filterState("severity_number = 17", "severity_number", "17")).toBe("in");
  });
  it("removes the terms on a field", () => {
    expect(removeField("service = 'a' AND level = 'error' AND service != 'b'", "service")).toBe("level = 'error'");
    expect(removeField("service = 'a'", "service")).toBe("");
    expect(removeField("a = 1 OR service = 'a'", "service")).toBe("a = 1 OR service = 'a'");
  });
});
