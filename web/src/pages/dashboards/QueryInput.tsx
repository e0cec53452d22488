// The query box of the panel and variable editors: the shared OQL editor (CodeMirror on
// demand, Ctrl/Cmd+Enter runs, the last run's error marked at its line and column), with a
// line of help under it.
import { OqlEditor } from "../../components/editor/OqlEditor";

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

export function QueryInput({ label, value, onChange, onRun, error, rows = 5, hint }: QueryInputProps) {
  return (
    <div class="dash-query">
      <OqlEditor label={label} value={value} onChange={onChange} onRun={onRun} errors={error instanceof Error ? error : error ? String(error) : null} rows={rows} />
      {hint && <small class="hint muted">{hint}</small>}
    </div>
  );
}
