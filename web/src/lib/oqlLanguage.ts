// OQL for the editor, as pure functions: a forgiving tokeniser (highlighting), where the
// cursor is for completion (tables after FROM, columns and functions elsewhere), server
// error positions as ranges, parameters, and the query's own time range (found or cut out).
// The rules follow the server's lexer and parser (crates/hexcovery-oql: lex.rs, parse.rs).

/** Reserved words of the parser (parse.rs KEYWORDS); case-insensitive. */
export const KEYWORDS = [
  "select", "from", "where", "group", "by", "having", "order", "asc", "desc", "limit", "last",
  "since", "until", "between", "and", "or", "not", "in", "like", "ilike", "is", "null", "true",
  "false", "as", "show", "tables", "describe", "distinct",
];
const KEYWORD_SET = new Set(KEYWORDS);
const ATOMS = new Set(["null", "true", "false"]);

export interface OqlFunction {
  name: string;
  /** How it is called, for the completion list. */
  signature: string;
  kind: "aggregate" | "scalar" | "time";
  doc: string;
}

/** The functions of SPEC §5 (and resolve.rs). */
export const FUNCTIONS: OqlFunction[] = [
  { name: "count", signature: "count(*) | count(x)", kind: "aggregate", doc: "rows, or rows where x is not null" },
  { name: "count_distinct", signature: "count_distinct(x)", kind: "aggregate", doc: "distinct values of x" },
  { name: "sum", signature: "sum(x)", kind: "aggregate", doc: "sum of x" },
  { name: "avg", signature: "avg(x)", kind: "aggregate", doc: "mean of x" },
  { name: "min", signature: "min(x)", kind: "aggregate", doc: "smallest x" },
  { name: "max", signature: "max(x)", kind: "aggregate", doc: "largest x" },
  { name: "percentile", signature: "percentile(x, p)", kind: "aggregate", doc: "the p-th percentile of x (p from 0 to 100)" },
  { name: "p50", signature: "p50(x)", kind: "aggregate", doc: "median of x" },
  { name: "p90", signature: "p90(x)", kind: "aggregate", doc: "90th percentile of x" },
  { name: "p95", signature: "p95(x)", kind: "aggregate", doc: "95th percentile of x" },
  { name: "p99", signature: "p99(x)", kind: "aggregate", doc: "99th percentile of x" },
  { name: "bucket", signature: "bucket() | bucket(5m)", kind: "time", doc: "time bucket of the row's timestamp; no argument picks the step from the range" },
  { name: "now", signature: "now() - 1h", kind: "time", doc: "the current time, in time ranges" },
  { name: "lower", signature: "lower(s)", kind: "scalar", doc: "lower-case text" },
  { name: "upper", signature: "upper(s)", kind: "scalar", doc: "upper-case text" },
  { name: "length", signature: "length(s)", kind: "scalar", doc: "characters in s" },
  { name: "contains", signature: "contains(s, part)", kind: "scalar", doc: "whether s contains part" },
  { name: "starts_with", signature: "starts_with(s, prefix)", kind: "scalar", doc: "whether s starts with prefix" },
  { name: "ends_with", signature: "ends_with(s, suffix)", kind: "scalar", doc: "whether s ends with suffix" },
  { name: "coalesce", signature: "coalesce(a, b, ...)", kind: "scalar", doc: "the first argument that is not null" },
  { name: "round", signature: "round(x)", kind: "scalar", doc: "x rounded to the nearest integer" },
  { name: "abs", signature: "abs(x)", kind: "scalar", doc: "absolute value" },
  { name: "floor", signature: "floor(x)", kind: "scalar", doc: "largest integer not above x" },
  { name: "ceil", signature: "ceil(x)", kind: "scalar", doc: "smallest integer not below x" },
];
const FUNCTION_SET = new Set(FUNCTIONS.map((f) => f.name));
/** Whether `name` is one of the engine's functions (case-insensitive). */
export const isKnownFunction = (name: string) => FUNCTION_SET.has(name.toLowerCase());

export type TokenType =
  | "keyword"
  | "atom"
  | "function"
  | "identifier"
  | "quotedIdent"
  | "string"
  /** A string inside `[...]`: a map key, as in `attributes['http.route']`. */
  | "mapKey"
  | "number"
  | "duration"
  | "param"
  | "operator"
  | "punctuation"
  | "comment"
  | "invalid";

export interface OqlToken {
  type: TokenType;
  from: number;
  to: number;
  text: string;
  /** A string or quoted identifier that runs to the end of the text unclosed. */
  unterminated?: boolean;
}

const isWordStart = (c: string) => /[A-Za-z_]/.test(c);
const isWordChar = (c: string) => /[A-Za-z0-9_.]/.test(c);
const isDigit = (c: string) => c >= "0" && c <= "9";

/** Splits `text` into tokens, whitespace left out. Never throws: what the server would
 * refuse comes out as `invalid` (or an `unterminated` string) so it can still be drawn. */
export function tokenize(text: string): OqlToken[] {
  const out: OqlToken[] = [];
  const n = text.length;
  let i = 0;
  const push = (type: TokenType, from: number, to: number, extra: Partial<OqlToken> = {}) => out.push({ type, from, to, text: text.slice(from, to), ...extra });
  while (i < n) {
    const c = text[i];
    const start = i;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === "-" && text[i + 1] === "-") {
      while (i < n && text[i] !== "\n") i++;
      push("comment", start, i);
      continue;
    }
    if (isWordStart(c)) {
      while (i < n && isWordChar(text[i])) i++;
      const word = text.slice(start, i);
      const lower = word.toLowerCase();
      let j = i;
      while (j < n && /[ \t\r\n]/.test(text[j])) j++;
      const called = text[j] === "(";
      const type: TokenType = ATOMS.has(lower) ? "atom" : KEYWORD_SET.has(lower) ? "keyword" : called ? "function" : "identifier";
      push(type, start, i);
      continue;
    }
    if (c === "$") {
      i++;
      while (i < n && /[A-Za-z0-9_]/.test(text[i])) i++;
      push(i - start > 1 && isWordStart(text[start + 1]) ? "param" : "invalid", start, i);
      continue;
    }
    if (isDigit(c)) {
      while (i < n && isDigit(text[i])) i++;
      let float = false;
      if (text[i] === "." && isDigit(text[i + 1] ?? "")) {
        float = true;
        i++;
        while (i < n && isDigit(text[i])) i++;
      }
      if ((text[i] === "e" || text[i] === "E") && (isDigit(text[i + 1] ?? "") || ((text[i + 1] === "+" || text[i + 1] === "-") && isDigit(text[i + 2] ?? "")))) {
        i += 2;
        while (i < n && isDigit(text[i])) i++;
        float = true;
      }
      let j = i;
      while (j < n && /[A-Za-z0-9_]/.test(text[j])) j++;
      const suffix = text.slice(i, j);
      if (!suffix) push("number", start, i);
      else push(!float && /^[smhdw]$/.test(suffix) ? "duration" : "invalid", start, j);
      i = j;
      continue;
    }
    if (c === "'" || c === '"') {
      i++;
      let closed = false;
      while (i < n) {
        if (text[i] === c) {
          if (text[i + 1] === c) {
            i += 2;
            continue;
          }
          i++;
          closed = true;
          break;
        }
        i++;
      }
      const prev = out[out.length - 1];
      const type: TokenType = c === '"' ? "quotedIdent" : prev?.text === "[" ? "mapKey" : "string";
      push(type, start, i, closed ? {} : { unterminated: true });
      continue;
    }
    const two = text.slice(i, i + 2);
    if (two === "!=" || two === "<>" || two === "<=" || two === ">=") {
      i += 2;
      push("operator", start, i);
      continue;
    }
    i++;
    if ("<>=+-*/%".includes(c)) push("operator", start, i);
    else if ("(),[];".includes(c)) push("punctuation", start, i);
    else {
      // One whole character (a surrogate pair counts as one), as the server reports it.
      if (c >= "\ud800" && c <= "\udbff" && i < n) i++;
      push("invalid", start, i);
    }
  }
  return out;
}

const significant = (tokens: OqlToken[]) => tokens.filter((t) => t.type !== "comment");
const isKw = (t: OqlToken | undefined, word: string) => !!t && t.type === "keyword" && t.text.toLowerCase() === word;

/** The table the query reads: the name after its first FROM (unquoted), if any. */
export function tableOf(text: string): string | null {
  const tokens = significant(tokenize(text));
  for (let i = 0; i < tokens.length - 1; i++) {
    if (isKw(tokens[i], "from") || isKw(tokens[i], "describe")) {
      const next = tokens[i + 1];
      if (next.type === "identifier" || next.type === "function") return next.text;
      if (next.type === "quotedIdent" && !next.unterminated) return next.text.slice(1, -1).replace(/""/g, '"');
    }
  }
  return null;
}

export type CompletionKind = "table" | "column" | "mapKey" | "keyword" | "none";

export interface CompletionSite {
  kind: CompletionKind;
  /** Where the replaced text starts (the typed prefix runs from here to the cursor). */
  from: number;
  prefix: string;
  /** The table after FROM, for column completion. */
  table: string | null;
  /** For `mapKey`: the map (`attributes`, `resource`) and whether the quote is typed. */
  map?: string;
  quoted?: boolean;
  /** For `keyword`: the words that fit here. */
  keywords?: string[];
}

/** What to complete at `pos`: tables right after FROM or DESCRIBE, map keys inside
 * `attributes[...]`, nothing inside strings and comments, otherwise columns of the FROM
 * table with functions and keywords. */
export function completionSite(text: string, pos: number): CompletionSite {
  const tokens = tokenize(text);
  const table = tableOf(text);
  const none: CompletionSite = { kind: "none", from: pos, prefix: "", table };
  const inside = tokens.find((t) => t.from < pos && (pos < t.to || ((t.unterminated || t.type === "comment") && pos <= t.to)));
  if (inside) {
    if (inside.type === "comment" || inside.type === "quotedIdent" || inside.type === "string") return none;
    if (inside.type === "mapKey") {
      const before = significant(tokens.filter((t) => t.to <= inside.from));
      const map = before[before.length - 2];
      return { kind: "mapKey", from: inside.from + 1, prefix: text.slice(inside.from + 1, pos), table, map: map?.text, quoted: true };
    }
  }
  let start = pos;
  while (start > 0 && isWordChar(text[start - 1])) start--;
  const prefix = text.slice(start, pos);
  if (prefix && !isWordStart(prefix[0])) return none;
  if (text[start - 1] === "$") return none;
  const before = significant(tokens.filter((t) => t.to <= start));
  const prev = before[before.length - 1];
  const site = (kind: CompletionKind, extra: Partial<CompletionSite> = {}): CompletionSite => ({ kind, from: start, prefix, table, ...extra });
  if (!prev) return site("keyword", { keywords: ["SELECT", "SHOW TABLES", "DESCRIBE"] });
  if (isKw(prev, "from") || isKw(prev, "describe")) return site("table");
  if (isKw(prev, "show")) return site("keyword", { keywords: ["TABLES"] });
  if (isKw(prev, "group") || isKw(prev, "order")) return site("keyword", { keywords: ["BY"] });
  if (prev.text === "[") {
    const map = before[before.length - 2];
    if (map && (map.type === "identifier" || map.type === "quotedIdent")) return site("mapKey", { map: map.text, quoted: false });
  }
  return site("column");
}

/** The offset of a 1-based line and column (columns count characters, as the server
 * does), clamped to the text. */
export function offsetOf(text: string, line: number, column: number): number {
  let offset = 0;
  for (let l = 1; l < line; l++) {
    const nl = text.indexOf("\n", offset);
    if (nl < 0) return text.length;
    offset = nl + 1;
  }
  for (let c = 1; c < column && offset < text.length && text[offset] !== "\n"; c++) {
    const code = text.charCodeAt(offset);
    offset += code >= 0xd800 && code <= 0xdbff ? 2 : 1;
  }
  return offset;
}

/** The range to mark for an error at `line`/`column`: the token that starts there (or
 * holds it), else one character, else an empty range at the end. */
export function errorRange(text: string, line: number, column: number): { from: number; to: number } {
  const at = offsetOf(text, line, column);
  const token = tokenize(text).find((t) => t.from <= at && at < t.to);
  if (token) return { from: token.from, to: token.to };
  if (at < text.length && text[at] !== "\n") return { from: at, to: at + 1 };
  return { from: at, to: at };
}

/** The `$name` parameters the query uses, in order of first use. */
export function paramsOf(text: string): string[] {
  const names: string[] = [];
  for (const t of tokenize(text)) {
    if (t.type === "param" && !names.includes(t.text.slice(1))) names.push(t.text.slice(1));
  }
  return names;
}

/** The query's own time range (`LAST 1h`, `SINCE … [UNTIL …]`, `BETWEEN … AND …`) outside
 * parentheses, as a range of the text; null when it has none. */
export function findTimeRange(text: string): { from: number; to: number; text: string } | null {
  const tokens = significant(tokenize(text));
  let depth = 0;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t.text === "(") depth++;
    else if (t.text === ")") depth = Math.max(0, depth - 1);
    if (depth > 0 || t.type !== "keyword") continue;
    const word = t.text.toLowerCase();
    if (word !== "last" && word !== "since" && word !== "between") continue;
    // An instant: a string, or now() with an optional "- <duration>". Answers the index
    // after it, or -1 when the text is not one (yet).
    const instant = (j: number): number => {
      const a = tokens[j];
      if (!a) return -1;
      if (a.type === "string") return j + 1;
      if (a.text.toLowerCase() === "now" && tokens[j + 1]?.text === "(" && tokens[j + 2]?.text === ")") {
        if (tokens[j + 3]?.text === "-" && (tokens[j + 4]?.type === "duration" || tokens[j + 4]?.type === "number")) return j + 5;
        return j + 3;
      }
      return -1;
    };
    let end = -1;
    if (word === "last") end = tokens[i + 1] ? i + 2 : -1;
    else if (word === "since") {
      end = instant(i + 1);
      if (end > 0 && isKw(tokens[end], "until")) {
        const until = instant(end + 1);
        end = until > 0 ? until : end;
      }
    } else {
      const first = instant(i + 1);
      if (first > 0 && isKw(tokens[first], "and")) end = instant(first + 1);
    }
    const last = end > 0 ? tokens[end - 1] : tokens[tokens.length - 1];
    return { from: t.from, to: last.to, text: text.slice(t.from, last.to) };
  }
  return null;
}

/** The query without its own time range (dashboard panels and alerts take theirs from
 * elsewhere); `removed` is the text taken out, or null when there was none. */
export function stripTimeRange(text: string): { query: string; removed: string | null } {
  const range = findTimeRange(text);
  if (!range) return { query: text, removed: null };
  const before = text.slice(0, range.from);
  const after = text.slice(range.to);
  const gap = /\n\s*$/.test(before) || /^\s*\n/.test(after) ? "\n" : " ";
  const head = before.replace(/\s+$/, "");
  const tail = after.replace(/^\s+/, "");
  const query = head && tail ? `${head}${gap}${tail}` : head || tail;
  return { query: query.trim(), removed: range.text };
}

/** A name as OQL needs it written: bare when it is a plain identifier, else in double
 * quotes (keywords too). */
export function quoteIdent(name: string): string {
  if (/^[A-Za-z_][A-Za-z0-9_.]*$/.test(name) && !KEYWORD_SET.has(name.toLowerCase())) return name;
  return `"${name.replace(/"/g, '""')}"`;
}

/** A string literal in OQL's single quotes. */
export const quoteString = (value: string) => `'${value.replace(/'/g, "''")}'`;
