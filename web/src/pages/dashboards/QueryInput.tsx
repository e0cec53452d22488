// The query box of the panel and variable editors: a labelled text area where Ctrl/Cmd+Enter
// runs, with the server's error position shown under it.
import { TextArea } from "../../components/ui";
import { ApiError } from "../../lib/api";

export interface QueryInputProps {
  label: string;
  value: string;
  onChange: (value: string) => void;
  onRun?: () => void;
  /** The last run's error; an OQL error's line, column and hint are shown. */
  error?: unknown;
  rows?: number;
  hint?: string;
}

/** "line 2, column 25: did you mean `logs`?" from an OQL error, when it has a position. */
export function errorPosition(error: unknown): string | null {
  if (!(error instanceof ApiError)) return null;
  const { line, column, hint } = error.detail as { line?: number; column?: number; hint?: string };
  const at = line ? `line ${line}${column ? `, column ${column}` : ""}` : "";
  if (!at && !hint) return null;
  return [at, hint].filter(Boolean).join(": ");
}

export function QueryInput({ label, value, onChange, onRun, error, rows = 5, hint }: QueryInputProps) {
  const position = errorPosition(error);
  return (
    <div class="dash-query">
      <TextArea
        label={label}
        value={value}
        rows={rows}
        spellcheck={false}
        hint={hint}
        aria-invalid={error ? true : undefined}
        onInput={(e) => onChange(e.currentTarget.value)}
        onKeyDown={(e) => {
          if (e.key === "Enter" && (e.ctrlKey || e.metaKey) && onRun) {
            e.preventDefault();
            onRun();
          }
        }}
      />
      {position && <div class="dash-query-pos muted small">At {position}</div>}
    </div>
  );
}
