// Editing a dashboard's variables: name, kind (query, custom list, free text), several
// values or one, default; each query variable shows a live preview of the options its
// query offers over the page's range, with the variables before it bound.
import { useState } from "preact/hooks";
import { Field, SelectField } from "../../components/ui";
import { ApiError, oql } from "../../lib/api";
import { optionsFromResult, parseOptions, type Scalar, type Variable, type VariableKind } from "../../lib/dashboard";
import { draftOf, nextKey, variableOf, type VarDraft } from "../../lib/dashboardVariables";
import { useLoad } from "../../lib/hooks";
import type { TimeRange } from "../../lib/time";
import { Drawer } from "./Drawer";
import { useDebounced } from "./PanelEditor";
import { QueryInput } from "./QueryInput";

const KINDS = [
  { value: "query", label: "Query (distinct values of the first column)" },
  { value: "custom", label: "Custom list" },
  { value: "text", label: "Text box" },
];

function OptionsPreview({ draft, range, params }: { draft: VarDraft; range: TimeRange; params: Record<string, Scalar | Scalar[]> }) {
  const query = useDebounced(draft.query, 600);
  const [runs, setRuns] = useState(0);
  const loaded = useLoad(
    async (signal) => (draft.kind === "query" && query.trim() ? optionsFromResult(await oql(query, { from: range.from, to: range.to, params, signal })) : null),
    [draft.kind, query, runs, range.from, range.to, JSON.stringify(params)],
  );
  const list = draft.kind === "custom" ? parseOptions(draft.options) : loaded.data;
  if (draft.kind === "text") return null;
  return (
    <div class="dash-var-preview" aria-label={`Options of ${draft.name || "this variable"}`} role="group">
      <span class="muted small">
        Options{loaded.loading && draft.kind === "query" ? " (running…)" : list ? ` (${list.length})` : ""}:{" "}
      </span>
      {loaded.error && draft.kind === "query" ? (
        <span class="dash-var-error" role="alert">
          {(loaded.error as Error).message}
          {loaded.error instanceof ApiError && loaded.error.detail.line ? ` (line ${loaded.error.detail.line}, column ${loaded.error.detail.column})` : ""}
        </span>
      ) : list && list.length ? (
        <span class="dash-chips">
          {list.slice(0, 40).map((o) => (
            <code class="dash-chip">{String(o)}</code>
          ))}
          {list.length > 40 && <span class="muted small">and {list.length - 40} more</span>}
        </span>
      ) : list ? (
        <span class="muted small">none in this range</span>
      ) : null}
      {draft.kind === "query" && (
        <button type="button" class="btn small" onClick={() => setRuns((n) => n + 1)}>
          Run
        </button>
      )}
    </div>
  );
}

export interface VariablesEditorProps {
  variables: Variable[];
  range: TimeRange;
  /** Current values of the saved variables, for binding earlier ones in previews. */
  values: Record<string, Scalar | Scalar[] | undefined>;
  onApply: (variables: Variable[]) => void;
  onCancel: () => void;
}

export function VariablesEditor({ variables, range, values, onApply, onCancel }: VariablesEditorProps) {
  const [drafts, setDrafts] = useState<VarDraft[]>(() => variables.map(draftOf));
  const [problem, setProblem] = useState<string | null>(null);
  const update = (key: number, change: Partial<VarDraft>) => {
    setProblem(null);
    setDrafts((ds) => ds.map((d) => (d.key === key ? { ...d, ...change } : d)));
  };
  const apply = () => {
    const out: Variable[] = [];
    const seen = new Set<string>();
    for (const d of drafts) {
      const v = variableOf(d);
      if (typeof v === "string") return setProblem(v);
      if (seen.has(v.name)) return setProblem(`Two variables are named ${v.name}.`);
      seen.add(v.name);
      out.push(v);
    }
    onApply(out);
  };
  return (
    <Drawer
      title="Variables"
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
        </>
      }
    >
      <p class="muted small">
        Panels use a variable as <code>$name</code>, e.g. <code>WHERE service IN ($service)</code> for one with several values. Values are bound as parameters, never pasted into the query. A query variable may use the variables listed before it.
      </p>
      {drafts.length === 0 && <p class="muted">No variables yet.</p>}
      {drafts.map((d, i) => {
        // Earlier variables bind in this one's options query, as the server binds them.
        const earlier: Record<string, Scalar | Scalar[]> = {};
        for (const e of drafts.slice(0, i)) {
          const v = values[e.name];
          if (v !== undefined) earlier[e.name] = v;
        }
        return (
          <fieldset class="dash-var-edit" key={d.key}>
            <legend>{d.name ? `$${d.name}` : `Variable ${i + 1}`}</legend>
            <div class="row">
              <Field label="Name" value={d.name} onInput={(e) => update(d.key, { name: e.currentTarget.value.trim() })} placeholder="service" />
              <SelectField label="Kind" value={d.kind} options={KINDS} onChange={(e) => update(d.key, { kind: e.currentTarget.value as VariableKind })} />
            </div>
            {d.kind === "query" && <QueryInput label="Options query" value={d.query} rows={2} onChange={(q) => update(d.key, { query: q })} hint="May hold its own range (LAST 24h); otherwise the page's applies." />}
            {d.kind === "custom" && <Field label="Options" value={d.options} onInput={(e) => update(d.key, { options: e.currentTarget.value })} placeholder="prod, staging" hint="Separated by commas." />}
            <div class="row">
              {d.kind !== "text" && (
                <label class="inline dash-check">
                  <input type="checkbox" checked={d.multi} onChange={(e) => update(d.key, { multi: e.currentTarget.checked })} /> Several values
                </label>
              )}
              <Field label="Default" value={d.default} onInput={(e) => update(d.key, { default: e.currentTarget.value })} placeholder={d.multi ? "empty: every option" : d.kind === "text" ? "empty" : "empty: the first option"} />
            </div>
            <OptionsPreview draft={d} range={range} params={earlier} />
            <div class="row dash-var-edit-actions">
              <button type="button" class="btn small" disabled={i === 0} onClick={() => setDrafts((ds) => [...ds.slice(0, i - 1), ds[i], ds[i - 1], ...ds.slice(i + 1)])}>
                Earlier
              </button>
              <button type="button" class="btn small danger" onClick={() => setDrafts((ds) => ds.filter((x) => x.key !== d.key))}>
                Remove variable
              </button>
            </div>
          </fieldset>
        );
      })}
      {problem && (
        <div class="error-note" role="alert">
          {problem}
        </div>
      )}
      <button type="button" class="btn" onClick={() => setDrafts((ds) => [...ds, { key: nextKey(), name: `var${ds.length + 1}`, kind: "custom", query: "", options: "", multi: false, default: "" }])}>
        Add variable
      </button>
    </Drawer>
  );
}
