// Errors the editor shows: an OQL error from the server (with line, column and hint),
// anything else thrown, or a list given by the caller — all as one shape.
import { ApiError } from "../../lib/api";

export interface EditorError {
  message: string;
  /** 1-based; with `column`, where the editor marks the error. */
  line?: number;
  column?: number;
  hint?: string;
  /** The server's error code (`oql_syntax`, `oql_unknown`, ...). */
  code?: string;
}

/** What `errors` of the editor accepts. */
export type EditorErrors = readonly EditorError[] | Error | string | null | undefined;

const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) && v >= 1 ? v : undefined);

export function editorErrors(input: EditorErrors | unknown): EditorError[] {
  if (input === null || input === undefined || input === "") return [];
  if (Array.isArray(input)) return input as EditorError[];
  if (input instanceof ApiError) {
    const d = input.detail ?? {};
    return [
      {
        message: input.message,
        line: num(d.line),
        column: num(d.column),
        hint: typeof d.hint === "string" ? d.hint : undefined,
        code: input.code,
      },
    ];
  }
  if (input instanceof Error) return [{ message: input.message }];
  return [{ message: String(input) }];
}
