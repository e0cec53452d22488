// The field sidebar of the logs explorer: top values of level, service, host and a few
// frequent attribute keys over the whole range, each with its count and buttons that add
// `field = value` / `field != value` to the visible query.
import { oql } from "../../lib/api";
import { LEVEL_COLORS, colorFor } from "../../lib/colors";
import { useLoad } from "../../lib/hooks";
import { topValuesQuery } from "../../lib/logs";
import { filterState, filterTerms, parseFieldRef, type FieldRef, type FilterMode, type FilterValue } from "../../lib/oqlFilter";
import { Loading } from "../../components/ui";

export interface FieldDef {
  field: FieldRef;
  /** The name shown and used in button names (`service`, `http.route`). */
  label: string;
}

interface Props {
  fields: FieldDef[];
  q: string;
  from: string;
  to: string;
  tick: number;
  onFilter: (field: FieldRef, value: FilterValue, mode: FilterMode) => void;
  onClear: (field: FieldRef) => void;
}

interface TopValues {
  field: FieldDef;
  values: { value: FilterValue; count: number }[];
  error?: string;
}

const display = (v: FilterValue) => (v === null ? "(empty)" : String(v));

export function FieldSidebar({ fields, q, from, to, tick, onFilter, onClear }: Props) {
  const key = fields.map((f) => f.field).join("\n");
  const load = useLoad(
    (signal) =>
      Promise.all(
        fields.map((f) =>
          oql(topValuesQuery(f.field, q), { from, to, signal }).then(
            (r): TopValues => ({ field: f, values: r.rows.map(([v, n]) => ({ value: v === undefined ? null : (v as FilterValue), count: Number(n) || 0 })) }),
            (e: Error): TopValues => {
              if (e.name === "AbortError") throw e;
              return { field: f, values: [], error: e.message };
            },
          ),
        ),
      ),
    [key, q, from, to, tick],
  );
  const terms = filterTerms(q);
  const allFailed = !!load.data?.length && load.data.every((d) => d.error);
  return (
    <aside class="logs-fields" aria-label="Fields">
      <h2 class="logs-fields-title">Fields</h2>
      {!load.data && load.loading && <Loading label="Counting values" />}
      {allFailed && <p class="muted logs-small">No values while the query fails.</p>}
      {!allFailed && load.data?.map(({ field, values, error }) => {
        const ref = parseFieldRef(field.field);
        const filtered = terms.some((t) => t.column === ref.column.toLowerCase() && t.key === ref.key);
        const top = values.reduce((m, v) => Math.max(m, v.count), 0);
        return (
          <section class="logs-field" aria-label={`Top values of ${field.label}`}>
            <header>
              <h3 title={field.field}>{field.label}</h3>
              {filtered && (
                <button type="button" class="link logs-clear" onClick={() => onClear(field.field)} aria-label={`Clear filters on ${field.label}`}>
                  clear
                </button>
              )}
            </header>
            {error && <p class="muted logs-small">Could not count: {error}</p>}
            {!error && !values.length && <p class="muted logs-small">No values in this range.</p>}
            <ul>
              {values.map(({ value, count }) => {
                const state = filterState(q, field.field, value);
                const text = display(value);
                const name = `${field.label} = ${text}`;
                return (
                  <li class={state ? `is-${state}` : ""}>
                    <span class="logs-value" title={text}>
                      {field.field === "level" && value !== null && <span class="logs-dot" style={{ background: LEVEL_COLORS[String(value)] ?? colorFor(String(value)) }} />}
                      {text}
                    </span>
                    <span class="logs-count">{count.toLocaleString("en-US")}</span>
                    <button type="button" class="btn small logs-fbtn" aria-label={`Filter in ${name}`} title={`Filter in ${name}`} aria-pressed={state === "in"} onClick={() => onFilter(field.field, value, "in")}>
                      +
                    </button>
                    <button type="button" class="btn small logs-fbtn" aria-label={`Filter out ${name}`} title={`Filter out ${name}`} aria-pressed={state === "out"} onClick={() => onFilter(field.field, value, "out")}>
                      −
                    </button>
                    <span class="logs-share" style={{ width: `${top ? (count / top) * 100 : 0}%` }} aria-hidden="true" />
                  </li>
                );
              })}
            </ul>
          </section>
        );
      })}
    </aside>
  );
}
