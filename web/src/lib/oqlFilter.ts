// Editing an OQL filter (the WHERE expression the logs explorer keeps in its URL) by clicks:
// add `field = 'value'` / `field != 'value'`, replacing what the expression already says
// about that field, so the visible query text stays the one source of truth.

/** A field as the sidebar and details name it: a column (`service`), or a map entry written
 * `attributes.<key>` / `resource.<key>` (the key may itself hold dots). */
export type FieldRef = string;

export type FilterValue = string | number | boolean | null;

export type FilterMode = "in" | "out";

/** A top-level `AND` term of the expression that tests one field against one value. */
export interface SimpleTerm {
  /** Column name (lower-case) or map name with `key` set. */
  column: string;
  key?: string;
  op: "=" | "!=" | "is null" | "is not null";
  /** The literal as written (`'a''b'`, `42`, `true`), absent for IS [NOT] NULL. */
  literal?: string;
  /** The value the literal stands for. */
  value?: FilterValue;
  /** Offsets of the term in the expression. */
  start: number;
  end: number;
}

const MAPS = ["attributes", "resource"];

/** Splits a field reference into its column and map key. */
export function parseFieldRef(field: FieldRef): { column: string; key?: string } {
  for (const m of MAPS) {
    if (field.startsWith(`${m}.`) && field.length > m.length + 1) return { column: m, key: field.slice(m.length + 1) };
  }
  return { column: field };
}

import { quoteString } from "./oqlLanguage";

/** A string literal: single quotes, inner single quotes doubled (OQL's one quoting rule). */
export { quoteString };

/** A column as OQL text: bare when it is a plain identifier, else double-quoted. */
export function quoteIdent(name: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

/** The OQL text of a field: `service`, `attributes['http.route']`. */
export function fieldSql(field: FieldRef): string {
  const { column, key } = parseFieldRef(field);
  return key === undefined ? quoteIdent(column) : `${column}[${quoteString(key)}]`;
}

/** The OQL literal of a value. Numbers stay numbers; everything else is a string. */
export function literal(value: Exclude<FilterValue, null>): string {
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : quoteString(String(value));
  if (typeof value === "boolean") return value ? "true" : "false";
  return quoteString(value);
}

/** The term a click adds: `f = v`, `f != v`, or `f IS [NOT] NULL` for a missing value. */
export function termSql(field: FieldRef, value: FilterValue, mode: FilterMode): string {
  const f = fieldSql(field);
  if (value === null || value === undefined) return `${f} ${mode === "in" ? "IS NULL" : "IS NOT NULL"}`;
  return `${f} ${mode === "in" ? "=" : "!="} ${literal(value)}`;
}

// ---- a tokenizer just good enough to find top-level AND / OR and simple terms -----------

type TokKind = "str" | "qident" | "ident" | "num" | "param" | "op" | "punct" | "other";
interface Tok {
  kind: TokKind;
  text: string;
  start: number;
  end: number;
  /** Decoded text of strings and quoted identifiers; lower-case of identifiers. */
  value: string;
}

function tokenize(src: string): Tok[] | null {
  const toks: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const start = i;
    if (c === "'" || c === '"') {
      let out = "";
      i++;
      for (;;) {
        if (i >= src.length) return null; // unclosed: not ours to fix
        if (src[i] === c) {
          if (src[i + 1] === c) {
            out += c;
            i += 2;
            continue;
          }
          i++;
          break;
        }
        out += src[i++];
      }
      toks.push({ kind: c === "'" ? "str" : "qident", text: src.slice(start, i), start, end: i, value: out });
      continue;
    }
    if (c === "-" && src[i + 1] === "-") {
      // A line comment runs to the end of the line.
      while (i < src.length && src[i] !== "\n") i++;
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      while (i < src.length && /[A-Za-z0-9_]/.test(src[i])) i++;
      const text = src.slice(start, i);
      toks.push({ kind: "ident", text, start, end: i, value: text.toLowerCase() });
      continue;
    }
    if (/[0-9]/.test(c) || (c === "." && /[0-9]/.test(src[i + 1] ?? ""))) {
      while (i < src.length && /[0-9.eE]/.test(src[i])) i++;
      const text = src.slice(start, i);
      toks.push({ kind: "num", text, start, end: i, value: text });
      continue;
    }
    if (c === "$") {
      i++;
      while (i < src.length && /[A-Za-z0-9_]/.test(src[i])) i++;
      toks.push({ kind: "param", text: src.slice(start, i), start, end: i, value: src.slice(start, i) });
      continue;
    }
    const two = src.slice(i, i + 2);
    if (two === "!=" || two === "<>" || two === "<=" || two === ">=") {
      i += 2;
      toks.push({ kind: "op", text: two, start, end: i, value: two === "<>" ? "!=" : two });
      continue;
    }
    i++;
    toks.push({ kind: "=<>+-*/%".includes(c) ? "op" : "()[],".includes(c) ? "punct" : "other", text: c, start, end: i, value: c });
  }
  return toks;
}

const KEYWORDS = new Set(["and", "or", "not", "is", "null", "in", "like", "ilike", "between", "true", "false"]);

interface Split {
  /** Top-level conjuncts as token ranges. */
  parts: Tok[][];
  /** Whether an OR sits at the top level (then the expression is one opaque conjunct). */
  hasOr: boolean;
}

function splitAnd(toks: Tok[]): Split {
  const parts: Tok[][] = [[]];
  let depth = 0;
  let hasOr = false;
  let betweenPending = false;
  for (const t of toks) {
    if (t.kind === "punct" && (t.text === "(" || t.text === "[")) depth++;
    if (t.kind === "punct" && (t.text === ")" || t.text === "]")) depth = Math.max(0, depth - 1);
    if (depth === 0 && t.kind === "ident") {
      if (t.value === "between") betweenPending = true;
      else if (t.value === "or") hasOr = true;
      else if (t.value === "and") {
        // `x BETWEEN a AND b`: that AND belongs to BETWEEN.
        if (betweenPending) betweenPending = false;
        else {
          parts.push([]);
          continue;
        }
      }
    }
    parts[parts.length - 1].push(t);
  }
  return { parts: parts.filter((p) => p.length > 0), hasOr };
}

function valueOf(t: Tok): FilterValue | undefined {
  if (t.kind === "str") return t.value;
  if (t.kind === "num") return Number(t.text);
  if (t.kind === "ident" && t.value === "true") return true;
  if (t.kind === "ident" && t.value === "false") return false;
  return undefined;
}

/** Reads a conjunct as a simple term on one field, or answers null. */
function simpleTerm(p: Tok[]): SimpleTerm | null {
  let i = 0;
  const head = p[i++];
  if (!head) return null;
  let column: string;
  if (head.kind === "ident" && !KEYWORDS.has(head.value)) column = head.value;
  else if (head.kind === "qident") column = head.value.toLowerCase();
  else return null;
  let key: string | undefined;
  if (p[i]?.text === "[") {
    if (p[i + 1]?.kind !== "str" || p[i + 2]?.text !== "]") return null;
    key = p[i + 1].value;
    i += 3;
  }
  const start = head.start;
  const end = p[p.length - 1].end;
  const rest = p.slice(i);
  if (rest.length === 2 && rest[0].kind === "op" && (rest[0].value === "=" || rest[0].value === "!=")) {
    const value = valueOf(rest[1]);
    if (value === undefined) return null;
    return { column, key, op: rest[0].value as "=" | "!=", literal: rest[1].text, value, start, end };
  }
  const words = rest.map((t) => (t.kind === "ident" ? t.value : "\0")).join(" ");
  if (words === "is null") return { column, key, op: "is null", start, end };
  if (words === "is not null") return { column, key, op: "is not null", start, end };
  return null;
}

/** The simple top-level terms of an expression (to mark the values a filter already names). */
export function filterTerms(expr: string): SimpleTerm[] {
  const toks = tokenize(expr);
  if (!toks) return [];
  const { parts, hasOr } = splitAnd(toks);
  if (hasOr) return [];
  return parts.map(simpleTerm).filter((t): t is SimpleTerm => t !== null);
}

function sameField(t: SimpleTerm, field: { column: string; key?: string }) {
  return t.column === field.column.toLowerCase() && t.key === field.key;
}

function sameValue(t: SimpleTerm, value: FilterValue) {
  return t.value === value || (t.value !== undefined && t.value !== null && value !== null && String(t.value) === String(value));
}

/** Whether the expression already filters `field` in (`=`) or out (`!=`) at `value`. */
export function filterState(expr: string, field: FieldRef, value: FilterValue): FilterMode | null {
  const f = parseFieldRef(field);
  for (const t of filterTerms(expr)) {
    if (!sameField(t, f)) continue;
    if (value === null) {
      if (t.op === "is null") return "in";
      if (t.op === "is not null") return "out";
    } else if (t.op === "=" && sameValue(t, value)) return "in";
    else if (t.op === "!=" && sameValue(t, value)) return "out";
  }
  return null;
}

/**
 * The expression with `field` filtered in (`= value`) or out (`!= value`):
 * - filtering in replaces every simple term on that field (`=`, `!=`, `IS [NOT] NULL`);
 * - filtering out replaces an `=` / `IS NULL` term on that field, but keeps other `!=`
 *   terms, so several values can be excluded one click at a time;
 * - a term that is already there is not added twice;
 * - an expression with a top-level OR is wrapped in parentheses before `AND term`.
 * Untouched terms keep the user's own text.
 */
export function addFilter(expr: string, field: FieldRef, value: FilterValue, mode: FilterMode): string {
  const term = termSql(field, value, mode);
  const text = expr.trim();
  if (!text) return term;
  const toks = tokenize(text);
  if (!toks) return `(${text}) AND ${term}`;
  const { parts, hasOr } = splitAnd(toks);
  if (hasOr) return `(${text}) AND ${term}`;
  const f = parseFieldRef(field);
  const out: string[] = [];
  let placed = false;
  for (const p of parts) {
    const slice = text.slice(p[0].start, p[p.length - 1].end);
    const t = simpleTerm(p);
    let replace = false;
    if (t && sameField(t, f)) {
      if (mode === "in") replace = true;
      else if (t.op === "=" || t.op === "is null") replace = true;
      else if (value === null ? t.op === "is not null" : t.op === "!=" && sameValue(t, value)) replace = true; // the same exclusion
    }
    if (!replace) out.push(slice);
    else if (!placed) {
      out.push(term);
      placed = true;
    }
  }
  if (!placed) out.push(term);
  return out.join(" AND ");
}

/** The expression without the simple terms on `field` (the sidebar's "clear"). */
export function removeField(expr: string, field: FieldRef): string {
  const text = expr.trim();
  const toks = tokenize(text);
  if (!toks) return text;
  const { parts, hasOr } = splitAnd(toks);
  if (hasOr) return text;
  const f = parseFieldRef(field);
  return parts
    .filter((p) => {
      const t = simpleTerm(p);
      return !(t && sameField(t, f));
    })
    .map((p) => text.slice(p[0].start, p[p.length - 1].end))
    .join(" AND ");
}
