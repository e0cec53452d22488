// Adding or editing one panel: title, kind and query, with a live preview that runs the
// draft query (OQL, over the page's range, the variables bound as parameters) as the user
// types, drawn the way the panel will draw it.
import { useEffect, useState } from "preact/hooks";
import { Field, SelectField } from "../../components/ui";
import { oql } from "../../lib/api";
import { PANEL_KINDS, referencedVariables, type Panel, type PanelKind, type Scalar } from "../../lib/dashboard";
import { useLoad } from "../../lib/hooks";
import type { TimeRange } from "../../lib/time";
import { Drawer } from "./Drawer";
import { PanelBody } from "./PanelBody";
import { QueryInput } from "./QueryInput";
import { Loading } from "../../components/ui";

/** `value` once it has stopped changing for `ms`. */
export function useDebounced<T>(value: T, ms: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return settled;
}

const EXAMPLES: Record<PanelKind, string> = {
  timeseries: "SELECT bucket() AS t, service, count(*) FROM logs GROUP BY t, service ORDER BY t",
  bar: "SELECT service, count(*) AS logs FROM logs GROUP BY service",
  table: "SELECT service, level, count(*) AS n FROM logs GROUP BY service, level ORDER BY n DESC",
  stat: "SELECT count(*) AS errors FROM logs WHERE level = 'error'",
};

export interface PanelEditorProps {
  panel: Panel;
  isNew: boolean;
  range: TimeRange;
  /** Every variable's current value; null while options are loading. */
  params: Record<string, Scalar | Scalar[]> | null;
  declared: string[];
  onApply: (panel: Panel) => void;
  onCancel: () => void;
}

export function PanelEditor({ panel, isNew, range, params, declared, onApply, onCancel }: PanelEditorProps) {
  const [title, setTitle] = useState(panel.title);
  const [kind, setKind] = useState<PanelKind>(panel.kind);
  const [query, setQuery] = useState(panel.query);
  const [annotations, setAnnotations] = useState(panel.show_annotations);
  const [runs, setRuns] = useState(0);
  const [problem, setProblem] = useState<string | null>(null);
  const settled = useDebounced(query, 600);
  const own = panel.time ? { from: String(panel.time.from), to: String(panel.time.to) } : range;
  const preview = useLoad(
    async (signal) => (settled.trim() && params ? oql(settled, { from: own.from, to: own.to, params, signal }) : null),
    [settled, runs, own.from, own.to, JSON.stringify(params)],
  );
  const unknown = referencedVariables(query).filter((n) => !declared.includes(n));

  const apply = () => {
    if (!query.trim()) return setProblem("A panel needs a query.");
    if (unknown.length) return setProblem(`The query uses ${unknown.map((n) => `$${n}`).join(", ")}, which this dashboard does not declare: add it under Variables, or remove it.`);
    onApply({ ...panel, title: title.trim(), kind, query, show_annotations: annotations });
  };

  const label = isNew ? "Add panel" : `Edit panel ${panel.title || panel.id}`;
  return (
    <Drawer
      title={label}
      onClose={onCancel}
      wide
      footer={
        <>
          <button type="button" class="btn primary" onClick={apply}>
            Apply
          </button>
          <button type="button" class="btn" onClick={onCancel}>
            Cancel
          </button>
          <span class="muted small">Apply keeps the change in the draft; Save stores the dashboard.</span>
        </>
      }
    >
      <div class="row">
        <Field label="Panel title" value={title} maxLength={200} onInput={(e) => setTitle(e.currentTarget.value)} placeholder="Errors by service" />
        <SelectField
          label="Panel kind"
          value={kind}
          options={PANEL_KINDS}
          onChange={(e) => {
            const next = e.currentTarget.value as PanelKind;
            // An untouched example follows the kind, so a new panel starts with a fitting query.
            if (query === EXAMPLES[kind] || !query.trim()) setQuery(EXAMPLES[next]);
            setKind(next);
          }}
        />
      </div>
      <QueryInput
        label="Query"
        value={query}
        onChange={(q) => {
          setQuery(q);
          setProblem(null);
        }}
        onRun={() => setRuns((n) => n + 1)}
        error={preview.error}
        rows={6}
        hint={`No time range in the text: the dashboard's applies, and bucket() adapts to it. Variables bind as $name${declared.length ? ` (${declared.map((d) => `$${d}`).join(", ")})` : ""}. Ctrl+Enter runs.`}
      />
      {kind === "timeseries" && (
        <label class="inline dash-check">
          <input type="checkbox" checked={annotations} onChange={(e) => setAnnotations(e.currentTarget.checked)} /> Draw annotations and alert markers
        </label>
      )}
      {problem && (
        <div class="error-note" role="alert">
          {problem}
        </div>
      )}
      <section class="dash-preview" aria-label="Preview">
        <div class="dash-preview-head">
          <h3>Preview</h3> {preview.loading && <span class="dash-spinner" role="status" aria-label="Running" />}
          {preview.data && (
            <span class="muted small">
              {" "}
              · {preview.data.rows.length} {preview.data.rows.length === 1 ? "row" : "rows"}
              {preview.data.truncated ? " (truncated)" : ""}
              {preview.data.stats.elapsed_ms !== undefined ? ` in ${preview.data.stats.elapsed_ms} ms` : ""}
            </span>
          )}
        </div>
        {preview.error ? (
          <p class="muted">The query did not run; its error is marked above.</p>
        ) : !params ? (
          <Loading label="Waiting for variable options" />
        ) : preview.data ? (
          <div class="dash-preview-body">
            <PanelBody kind={kind} result={preview.data} height={220} label={`Preview: ${title.trim() || "untitled panel"}`} />
          </div>
        ) : preview.loading ? (
          <Loading label="Running" />
        ) : (
          <p class="muted">Type a query to see what the panel will show.</p>
        )}
      </section>
    </Drawer>
  );
}

/** The query a new panel of `kind` starts with. */
export const exampleQuery = (kind: PanelKind) => EXAMPLES[kind];
