// One panel on the grid: runs its query (saved panels through the dashboard's panel-run
// endpoint, drafts in edit mode through OQL with the variables as parameters), draws the
// answer, and in edit mode offers edit, remove, and keyboard-accessible move and resize.
import type { Marker } from "../../components/Chart";
import { ErrorNote, Loading } from "../../components/ui";
import { ApiError, oql, post, type OqlResult } from "../../lib/api";
import { docRange, type Panel, type Scalar } from "../../lib/dashboard";
import type { Direction, Resize } from "../../lib/grid";
import { useLoad } from "../../lib/hooks";
import { rangeLabel, type TimeRange } from "../../lib/time";
import { PanelBody } from "./PanelBody";

/** "line 2, column 25: did you mean `logs`?" from an OQL error, when it has a position. */
function errorPosition(error: unknown): string | null {
  if (!(error instanceof ApiError)) return null;
  const { line, column, hint } = error.detail as { line?: number; column?: number; hint?: string };
  const at = line ? `line ${line}${column ? `, column ${column}` : ""}` : "";
  if (!at && !hint) return null;
  return [at, hint].filter(Boolean).join(": ");
}

/** Grid row height and gap, in px (the CSS grid uses the same). */
export const ROW_PX = 30;
export const GAP_PX = 10;

export const panelHeightPx = (h: number) => h * ROW_PX + (h - 1) * GAP_PX;

export interface PanelCardProps {
  panel: Panel;
  /** The saved dashboard's id and version (view mode runs the stored panel). */
  dashboardId: string | null;
  version: number;
  editing: boolean;
  range: TimeRange;
  /** Values the URL gives, for view-mode runs (the server applies the rest). */
  urlValues: Record<string, Scalar | Scalar[]>;
  /** Every variable's value, for edit-mode runs; null while options are loading. */
  params: Record<string, Scalar | Scalar[]> | null;
  tick: number;
  markers?: Marker[];
  sync: string;
  xRange?: [number, number];
  onZoom?: (from: number, to: number) => void;
  /** Edit mode: layout steps (null when the step goes nowhere). */
  moves?: Record<Direction | Resize, (() => void) | null>;
  onEdit?: () => void;
  onRemove?: () => void;
  onDragStart?: (e: PointerEvent, mode: "move" | "resize") => void;
  dragging?: boolean;
}

const MOVES: { key: Direction | Resize; label: string; icon: string }[] = [
  { key: "left", label: "Move left", icon: "←" },
  { key: "right", label: "Move right", icon: "→" },
  { key: "up", label: "Move up", icon: "↑" },
  { key: "down", label: "Move down", icon: "↓" },
  { key: "wider", label: "Wider", icon: "⇹+" },
  { key: "narrower", label: "Narrower", icon: "⇹−" },
  { key: "taller", label: "Taller", icon: "⇕+" },
  { key: "shorter", label: "Shorter", icon: "⇕−" },
];

export function PanelCard(props: PanelCardProps) {
  const { panel, dashboardId, version, editing, urlValues, params, tick } = props;
  const own = panel.time ? docRange(panel.time) : null;
  const range = own ?? props.range;
  const viaEndpoint = !editing && dashboardId !== null;
  const bound = viaEndpoint ? urlValues : params;
  const run = useLoad<OqlResult | null>(
    async (signal) => {
      if (viaEndpoint) {
        // A panel's own time wins only when the run names no range.
        const body = own ? { variables: urlValues } : { from: range.from, to: range.to, variables: urlValues };
        return post<OqlResult>(`/api/v1/dashboards/${dashboardId}/panels/${encodeURIComponent(panel.id)}/query`, body, { signal });
      }
      if (!params) return null;
      return oql(panel.query, { from: range.from, to: range.to, params, signal });
    },
    [viaEndpoint, dashboardId, version, panel.id, panel.query, range.from, range.to, JSON.stringify(bound), tick],
  );
  const title = panel.title || "Untitled panel";
  const inner = panelHeightPx(panel.layout.h);
  const bodyPx = Math.max(40, inner - 20 - 30 - (editing ? 30 : 0));
  // Custom properties place the panel; the stylesheet turns them into grid lines (and
  // stacks panels on narrow screens).
  const style = {
    "--x": String(panel.layout.x + 1),
    "--w": String(panel.layout.w),
    "--y": String(panel.layout.y + 1),
    "--h": String(panel.layout.h),
  } as Record<string, string>;

  return (
    <section class={`dash-panel card ${editing ? "editing" : ""} ${props.dragging ? "dragging" : ""}`} style={style} aria-label={title} data-kind={panel.kind}>
      <header class="dash-panel-head" onPointerDown={editing && props.onDragStart ? (e) => (e.target as HTMLElement).closest("button") === null && props.onDragStart!(e, "move") : undefined}>
        <h2 title={title}>{title}</h2>
        {own && <span class="badge muted" title="This panel keeps its own time range">{rangeLabel(own)}</span>}
        {run.data?.truncated && (
          <span class="badge warn" title="The answer hit a row limit">
            truncated
          </span>
        )}
        {run.loading && run.data && <span class="dash-spinner" aria-label="Refreshing" role="status" />}
        {editing && (
          <div class="actions">
            <button type="button" class="btn small" onClick={props.onEdit}>
              Edit panel
            </button>
            <button type="button" class="btn small danger" onClick={props.onRemove}>
              Remove panel
            </button>
          </div>
        )}
      </header>
      {editing && props.moves && (
        <div class="dash-layout-tools" role="group" aria-label={`Layout of ${title}`}>
          {MOVES.map((m) => (
            <button type="button" class="btn small" aria-label={m.label} title={m.label} disabled={!props.moves![m.key]} onClick={() => props.moves![m.key]?.()}>
              {m.icon}
            </button>
          ))}
          <span class="muted small dash-layout-pos">
            {panel.layout.w}×{panel.layout.h} at {panel.layout.x},{panel.layout.y}
          </span>
        </div>
      )}
      <div class="dash-panel-body" style={{ height: `${bodyPx}px` }}>
        {run.error ? (
          <div class="dash-panel-error">
            <ErrorNote error={run.error} />
            {errorPosition(run.error) && <div class="muted small">At {errorPosition(run.error)}</div>}
          </div>
        ) : run.data ? (
          <PanelBody kind={panel.kind} result={run.data} height={bodyPx} label={title} options={panel.options} markers={panel.show_annotations && panel.kind === "timeseries" ? props.markers : undefined} sync={props.sync} xRange={own ? undefined : props.xRange} onZoom={props.onZoom} />
        ) : editing && !params ? (
          <Loading label="Waiting for variable options" />
        ) : (
          <Loading label="Running" />
        )}
      </div>
      {editing && props.onDragStart && <div class="dash-resize" aria-hidden="true" title="Drag to resize" onPointerDown={(e) => props.onDragStart!(e, "resize")} />}
    </section>
  );
}
