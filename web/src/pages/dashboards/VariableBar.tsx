// The bar of variable pickers above a dashboard's grid: a select per single-value variable,
// a checkbox list per multi-value one, a text box per text one. Values live in the URL
// (`var-<name>=`, repeated for several), so a chosen view can be shared.
import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError } from "../../lib/api";
import type { Scalar, Variable } from "../../lib/dashboard";

export interface VariableBarProps {
  variables: Variable[];
  /** Options by variable name; undefined while loading. */
  options: Record<string, Scalar[] | undefined>;
  errors: Record<string, unknown>;
  /** The values runs bind (URL, default or fallback), by name. */
  values: Record<string, Scalar | Scalar[] | undefined>;
  /** Names whose value the URL sets (the rest show their default). */
  given: Set<string>;
  onChange: (name: string, values: string[] | null) => void;
}

const text = (v: Scalar) => String(v);

function MultiPicker({ variable, options, value, given, onChange }: { variable: Variable; options: Scalar[] | undefined; value: Scalar[] | undefined; given: boolean; onChange: (values: string[] | null) => void }) {
  const [open, setOpen] = useState(false);
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!open) return;
    const close = (e: Event) => {
      if (box.current && !box.current.contains(e.target as Node)) setOpen(false);
    };
    const esc = (e: KeyboardEvent) => e.key === "Escape" && setOpen(false);
    document.addEventListener("pointerdown", close);
    document.addEventListener("keydown", esc);
    return () => {
      document.removeEventListener("pointerdown", close);
      document.removeEventListener("keydown", esc);
    };
  }, [open]);
  const chosen = new Set((value ?? []).map(text));
  const all = !given;
  const summary = all ? "All" : chosen.size ? [...chosen].join(", ") : "None";
  const toggle = (o: string) => {
    const next = new Set(all ? [] : chosen);
    if (next.has(o)) next.delete(o);
    else next.add(o);
    onChange(next.size ? [...next] : null);
  };
  return (
    <div class="dash-var" ref={box}>
      <span class="dash-var-name" id={`var-label-${variable.name}`}>
        {variable.name}
      </span>
      <button type="button" class="btn dash-var-button" aria-haspopup="true" aria-expanded={open} aria-labelledby={`var-label-${variable.name} var-value-${variable.name}`} onClick={() => setOpen(!open)}>
        <span id={`var-value-${variable.name}`}>{summary}</span> ▾
      </button>
      {open && (
        <div class="popover dash-var-pop" role="group" aria-label={`${variable.name} values`}>
          <label class="inline">
            <input type="checkbox" checked={all} onChange={() => onChange(null)} /> All
          </label>
          {options === undefined ? (
            <span class="muted">Loading…</span>
          ) : options.length === 0 ? (
            <span class="muted">No options in this range.</span>
          ) : (
            options.map((o) => (
              <label class="inline">
                <input type="checkbox" checked={!all && chosen.has(text(o))} onChange={() => toggle(text(o))} /> {text(o)}
              </label>
            ))
          )}
        </div>
      )}
    </div>
  );
}

function TextPicker({ variable, value, onChange }: { variable: Variable; value: string; onChange: (values: string[] | null) => void }) {
  const [draft, setDraft] = useState(value);
  useEffect(() => setDraft(value), [value]);
  return (
    <form
      class="dash-var"
      onSubmit={(e) => {
        e.preventDefault();
        onChange(draft === "" ? null : [draft]);
      }}
    >
      <label class="dash-var-name" for={`var-input-${variable.name}`}>
        {variable.name}
      </label>
      <input id={`var-input-${variable.name}`} value={draft} onInput={(e) => setDraft(e.currentTarget.value)} onBlur={() => draft !== value && onChange(draft === "" ? null : [draft])} />
    </form>
  );
}

export function VariableBar({ variables, options, errors, values, given, onChange }: VariableBarProps) {
  if (!variables.length) return null;
  return (
    <div class="dash-vars" role="toolbar" aria-label="Variables">
      {variables.map((v) => {
        const error = errors[v.name];
        const opts = v.kind === "custom" ? v.options : options[v.name];
        let picker;
        if (v.kind === "text") picker = <TextPicker variable={v} value={String(values[v.name] ?? "")} onChange={(vals) => onChange(v.name, vals)} />;
        else if (v.multi)
          picker = <MultiPicker variable={v} options={opts} value={values[v.name] as Scalar[] | undefined} given={given.has(v.name)} onChange={(vals) => onChange(v.name, vals)} />;
        else {
          const current = values[v.name] === undefined ? "" : text(values[v.name] as Scalar);
          const list = (opts ?? []).map(text);
          // A value from the URL that the options no longer hold still shows as chosen.
          if (current && !list.includes(current)) list.unshift(current);
          picker = (
            <div class="dash-var">
              <label class="dash-var-name" for={`var-select-${v.name}`}>
                {v.name}
              </label>
              <select id={`var-select-${v.name}`} value={current} onChange={(e) => onChange(v.name, [e.currentTarget.value])}>
                {opts === undefined && !current && <option value="">Loading…</option>}
                {list.map((o) => (
                  <option value={o}>{o}</option>
                ))}
              </select>
            </div>
          );
        }
        return (
          <div class="dash-var-wrap">
            {picker}
            {error ? (
              <span class="dash-var-error" role="alert" title={error instanceof ApiError ? error.code : undefined}>
                {error instanceof Error ? error.message : String(error)}
              </span>
            ) : null}
          </div>
        );
      })}
    </div>
  );
}
