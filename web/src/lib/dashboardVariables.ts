// Dashboard variables as the Variables editor's form holds them (text fields), and back
// into the document's shape with the reason when a form cannot be one.
import { coerce, parseOptions, type Scalar, type Variable, type VariableKind } from "./dashboard";

export interface VarDraft {
  key: number;
  name: string;
  kind: VariableKind;
  query: string;
  options: string;
  multi: boolean;
  default: string;
  /** The options as stored, so typed text keeps their types (5 stays a number). */
  original?: Scalar[];
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

let keys = 0;
/** A fresh key for a form row (Preact keys rows by it while names are being typed). */
export const nextKey = () => ++keys;

/** A variable as form fields. */
export function draftOf(v: Variable): VarDraft {
  const def = v.default === null || v.default === undefined ? "" : Array.isArray(v.default) ? v.default.join(", ") : String(v.default);
  return { key: nextKey(), name: v.name, kind: v.kind, query: v.query ?? "", options: (v.options ?? []).join(", "), multi: v.multi, default: def, original: v.options };
}

/** A draft as the document holds it, or the reason it cannot be one. */
export function variableOf(d: VarDraft): Variable | string {
  if (!IDENT.test(d.name)) return `“${d.name}” is not a variable name: a letter or _, then letters, digits or _ (it is $${d.name || "name"} in queries).`;
  const options = d.kind === "custom" ? parseOptions(d.options).map((o) => coerce(o, d.original)) : undefined;
  if (d.kind === "query" && !d.query.trim()) return `$${d.name} needs a query; its options are the distinct values of the first column.`;
  if (d.kind === "custom" && !options!.length) return `$${d.name} needs options, separated by commas.`;
  const multi = d.kind !== "text" && d.multi;
  let def: Scalar | Scalar[] | null = null;
  if (d.default.trim()) {
    if (multi) def = parseOptions(d.default).map((x) => coerce(x, options));
    else def = d.kind === "text" ? d.default : coerce(d.default.trim(), options);
    const list = Array.isArray(def) ? def : [def];
    const bad = options && list.find((x) => !options.some((o) => String(o) === String(x)));
    if (bad !== undefined && bad !== null && options) return `$${d.name}'s default ${String(bad)} is not one of its options.`;
  }
  const v: Variable = { name: d.name, kind: d.kind, multi, default: def };
  if (d.kind === "query") v.query = d.query;
  if (d.kind === "custom") v.options = options;
  return v;
}
