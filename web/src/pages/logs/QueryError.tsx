// A server error about the filter, shown next to the Query field: the message, the hint,
// and where in the filter it points (line, column and a caret under the text).
import { ApiError } from "../../lib/api";
import { filterPosition } from "../../lib/logs";

export function QueryError({ error, q, id }: { error: unknown; q: string; id?: string }) {
  if (!error) return null;
  const api = error instanceof ApiError ? error : null;
  const message = error instanceof Error ? error.message : String(error);
  const pos = api ? filterPosition(api.detail, q) : null;
  const hint = typeof api?.detail.hint === "string" ? api.detail.hint : null;
  const line = pos ? q.split("\n")[pos.line - 1] : "";
  return (
    <div class="error-note logs-error" role="alert" id={id}>
      <div>
        {pos ? <strong>{q.includes("\n") ? `Line ${pos.line}, column ${pos.column}: ` : `Column ${pos.column}: `}</strong> : null}
        {message}
        {api?.code && <code class="code">{api.code}</code>}
      </div>
      {hint && <div class="logs-hint">Hint: {hint}</div>}
      {pos && (
        <pre class="logs-caret" aria-hidden="true">
          {line}
          {"\n"}
          {" ".repeat(Math.max(0, pos.column - 1))}^
        </pre>
      )}
    </div>
  );
}
