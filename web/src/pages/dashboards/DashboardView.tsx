// `/dashboards/<id>` (and `/dashboards/new`): a dashboard's panels on its 24-column grid,
// run over the URL's time range with the variables the URL picks, refreshed by the time
// picker and auto refresh, with a shared cursor and annotation/alert markers on time series.
// Editors switch to edit mode (add, move, resize, edit queries with a live preview, edit
// variables and settings, save with If-Match), see versions and restore, and export.
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { Badge, Card, Empty, ErrorNote, Field, Loading } from "../../components/ui";
import { ApiError, apiWithEtag, get, post, put, withQuery } from "../../lib/api";
import {
  defaultSize,
  docOf,
  docRange,
  exportFileName,
  markersOf,
  newDoc,
  nextPanelId,
  optionsFromResult,
  resolvedValues,
  sameDoc,
  urlValues,
  withVariable,
  type AnnotationAnswer,
  type Dashboard,
  type DashboardDoc,
  type Panel,
  type Scalar,
  type Variable,
} from "../../lib/dashboard";
import { add, place, remove, resize, sameLayout, step, type Direction, type Item, type Resize } from "../../lib/grid";
import { useLoad, useTitle } from "../../lib/hooks";
import { Link, location, navigate, setParams } from "../../lib/router";
import { canEdit } from "../../lib/session";
import { DEFAULT_RANGE, REFRESH_CHOICES, resolveRange, setRange, tick, urlRange, type TimeRange } from "../../lib/time";
import { oql } from "../../lib/api";
import { GAP_PX, PanelCard, ROW_PX } from "./PanelCard";
import { PanelEditor, exampleQuery } from "./PanelEditor";
import { SettingsEditor } from "./SettingsEditor";
import { VariableBar } from "./VariableBar";
import { VariablesEditor } from "./VariablesEditor";
import { Versions } from "./Versions";
import type { PageProps } from "../../routes";
import "./dashboards.css";

const DIRECTIONS: Direction[] = ["left", "right", "up", "down"];
const RESIZES: Resize[] = ["wider", "narrower", "taller", "shorter"];

const itemsOf = (panels: Panel[]): Item[] => panels.map((p) => ({ id: p.id, ...p.layout }));
const byPosition = (panels: Panel[]) => [...panels].sort((a, b) => a.layout.y - b.layout.y || a.layout.x - b.layout.x);

/** The URL's query string without the editing-only members, for leaving edit mode. */
function searchWithout(names: string[]): string {
  const q = new URLSearchParams(location.value.search);
  for (const n of names) q.delete(n);
  const s = q.toString();
  return s ? `?${s}` : "";
}

interface Options {
  options: Record<string, Scalar[] | undefined>;
  errors: Record<string, unknown>;
}

/** Options of every query variable over the range: saved dashboards ask the server (which
 * binds earlier variables itself); drafts run each options query through OQL in order,
 * binding the values of the variables before it. */
function useVariableOptions(dashboardId: string | null, variables: Variable[], editing: boolean, range: TimeRange, query: URLSearchParams, deps: unknown[]) {
  return useLoad<Options>(
    async (signal) => {
      const options: Record<string, Scalar[] | undefined> = {};
      const errors: Record<string, unknown> = {};
      for (const v of variables) if (v.kind === "custom") options[v.name] = v.options ?? [];
      const queried = variables.filter((v) => v.kind === "query");
      if (!queried.length) return { options, errors };
      if (!editing && dashboardId) {
        const given = urlValues(variables, query);
        await Promise.all(
          queried.map(async (v) => {
            try {
              const answer = await post<{ options: Scalar[] }>(`/api/v1/dashboards/${dashboardId}/variables/${encodeURIComponent(v.name)}/options`, { from: range.from, to: range.to, variables: given }, { signal });
              options[v.name] = answer.options;
            } catch (e) {
              if ((e as Error).name === "AbortError") throw e;
              errors[v.name] = e;
              options[v.name] = [];
            }
          }),
        );
        return { options, errors };
      }
      for (let i = 0; i < variables.length; i++) {
        const v = variables[i];
        if (v.kind !== "query" || !v.query) continue;
        const before = resolvedValues(variables.slice(0, i), query, options);
        const params = Object.fromEntries(Object.entries(before).filter(([, x]) => x !== undefined)) as Record<string, Scalar | Scalar[]>;
        try {
          options[v.name] = optionsFromResult(await oql(v.query, { from: range.from, to: range.to, params, signal }));
        } catch (e) {
          if ((e as Error).name === "AbortError") throw e;
          errors[v.name] = e;
          options[v.name] = [];
        }
      }
      return { options, errors };
    },
    [dashboardId, editing, JSON.stringify(variables), range.from, range.to, ...deps],
  );
}

export default function DashboardView({ params }: PageProps) {
  const id = params.id;
  const isNew = id === "new";
  const query = location.value.query;
  const editor = canEdit.value;
  const editing = editor && (isNew || query.get("edit") === "1");
  const range = urlRange.value;
  const t = tick.value;

  const loaded = useLoad((_signal) => (isNew ? Promise.resolve(null) : apiWithEtag<Dashboard>(`/api/v1/dashboards/${id}`)), [id]);
  const [dash, setDash] = useState<Dashboard | null>(null);
  useEffect(() => setDash(loaded.data?.body ?? null), [loaded.data]);

  // A dashboard opened without a range in the URL shows its own default range and refresh.
  const adopted = useRef<string | null>(null);
  useEffect(() => {
    if (!dash || adopted.current === dash.id) return;
    adopted.current = dash.id;
    const changes: Record<string, string | null> = {};
    const own = docRange(dash.time);
    if (!query.has("from") && !query.has("to") && (own.from !== DEFAULT_RANGE.from || own.to !== DEFAULT_RANGE.to)) Object.assign(changes, { from: own.from, to: own.to });
    if (!query.has("refresh") && dash.refresh && REFRESH_CHOICES.includes(dash.refresh)) changes.refresh = dash.refresh;
    if (Object.keys(changes).length) setParams(changes, { replace: true });
  }, [dash?.id]);

  // The draft edit mode works on, and the version it edits.
  const [draft, setDraft] = useState<DashboardDoc | null>(null);
  const [base, setBase] = useState(0);
  useEffect(() => {
    if (editing && !draft) {
      // A new dashboard keeps the range it was made over as its default.
      if (isNew) setDraft({ ...newDoc(query.get("title") || "New dashboard"), time: { ...range } });
      else if (dash) {
        setDraft(docOf(dash));
        setBase(dash.version);
      }
    } else if (!editing && draft) setDraft(null);
  }, [editing, dash, isNew]);

  const doc: DashboardDoc | null = editing ? draft : dash;
  useTitle(doc?.title ?? "Dashboard");
  const variables = doc?.variables ?? [];
  const varKey = [...query.entries()]
    .filter(([k]) => k.startsWith("var-"))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
  const savedId = isNew ? null : id;
  const opts = useVariableOptions(savedId, variables, editing, range, query, [varKey, t, dash?.version]);
  const options = opts.data?.options ?? {};
  const values = resolvedValues(variables, query, options);
  const given = urlValues(variables, query, options);
  const waiting = Object.values(values).some((v) => v === undefined) && (opts.loading || !opts.data);
  const runParams = waiting ? null : (Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as Record<string, Scalar | Scalar[]>);

  const annotations = useLoad(
    (signal) => (savedId ? get<AnnotationAnswer>(withQuery(`/api/v1/dashboards/${savedId}/annotations`, { from: range.from, to: range.to }), { signal }) : Promise.resolve(null)),
    [savedId, range.from, range.to, t, dash?.version],
  );
  const markers = useMemo(() => (annotations.data ? markersOf(annotations.data) : undefined), [annotations.data]);
  const xRange = useMemo<[number, number] | undefined>(() => {
    try {
      const r = resolveRange(range);
      return [r.from / 1000, r.to / 1000];
    } catch {
      return undefined;
    }
  }, [range.from, range.to, t]);

  // Edit-mode sheets and save state.
  const [panelEdit, setPanelEdit] = useState<{ panel: Panel; isNew: boolean } | null>(null);
  const [sheet, setSheet] = useState<"variables" | "settings" | null>(null);
  const [saving, setSaving] = useState(false);
  const [saveError, setSaveError] = useState<unknown>(null);
  const [conflict, setConflict] = useState<number | null>(null);
  const [discarding, setDiscarding] = useState(false);
  const [exportError, setExportError] = useState<unknown>(null);
  const [dragging, setDragging] = useState<string | null>(null);
  const gridRef = useRef<HTMLDivElement>(null);
  // The listeners of a drag in progress, removed if the page goes away mid-drag.
  const endDrag = useRef<(() => void) | null>(null);
  useEffect(() => () => endDrag.current?.(), []);

  const dirty = editing && draft ? (isNew ? true : dash ? !sameDoc(draft, docOf(dash)) : false) : false;
  // Closing the tab or reloading with unsaved edits asks first.
  useEffect(() => {
    if (!dirty) return;
    const ask = (e: BeforeUnloadEvent) => e.preventDefault();
    window.addEventListener("beforeunload", ask);
    return () => window.removeEventListener("beforeunload", ask);
  }, [dirty]);

  const applyItems = (next: Item[]) =>
    setDraft((d) =>
      d
        ? {
            ...d,
            panels: d.panels.map((p) => {
              const it = next.find((i) => i.id === p.id);
              return it ? { ...p, layout: { x: it.x, y: it.y, w: it.w, h: it.h } } : p;
            }),
          }
        : d,
    );

  const startDrag = (panelId: string, e: PointerEvent, mode: "move" | "resize") => {
    if (!draft || !gridRef.current || e.button !== 0) return;
    // A narrow window stacks panels in one column: there pixels are not grid columns, so
    // only the layout buttons move panels.
    if (getComputedStyle(gridRef.current).gridTemplateColumns.split(" ").length < 24) return;
    e.preventDefault();
    const rect = gridRef.current.getBoundingClientRect();
    const colW = (rect.width - 23 * GAP_PX) / 24 + GAP_PX;
    const rowH = ROW_PX + GAP_PX;
    const start = itemsOf(draft.panels);
    const me = start.find((i) => i.id === panelId)!;
    const [sx, sy] = [e.clientX, e.clientY];
    let last = start;
    setDragging(panelId);
    const move = (ev: PointerEvent) => {
      const dx = Math.round((ev.clientX - sx) / colW);
      const dy = Math.round((ev.clientY - sy) / rowH);
      const box = mode === "move" ? { ...me, x: me.x + dx, y: me.y + dy } : { ...me, w: me.w + dx, h: me.h + dy };
      // Always from the layout the drag started on, so pushed panels come back.
      const next = place(start, panelId, box);
      if (!sameLayout(next, last)) {
        last = next;
        applyItems(next);
      }
    };
    const up = () => {
      window.removeEventListener("pointermove", move);
      window.removeEventListener("pointerup", up);
      window.removeEventListener("pointercancel", up);
      endDrag.current = null;
      setDragging(null);
    };
    endDrag.current?.();
    endDrag.current = up;
    window.addEventListener("pointermove", move);
    window.addEventListener("pointerup", up);
    // A cancelled pointer (touch, pen, lost capture) ends the drag as a release would.
    window.addEventListener("pointercancel", up);
  };

  const startEditing = () => setParams({ edit: "1" });
  const stopEditing = () => {
    setDraft(null);
    setPanelEdit(null);
    setSheet(null);
    setSaveError(null);
    setConflict(null);
    setDiscarding(false);
    if (isNew) navigate("/dashboards");
    else setParams({ edit: null });
  };

  const save = async (over?: number) => {
    if (!draft) return;
    setSaving(true);
    setSaveError(null);
    const body = { ...draft, panels: byPosition(draft.panels) };
    try {
      if (isNew) {
        const created = await post<Dashboard>("/api/v1/dashboards", body);
        setDraft(null);
        setDash(created);
        navigate(`/dashboards/${created.id}${searchWithout(["edit", "title"])}`, { replace: true });
      } else {
        const saved = await put<Dashboard>(`/api/v1/dashboards/${id}`, body, { headers: { "If-Match": `"${over ?? base}"` } });
        setConflict(null);
        setDraft(null);
        setDash(saved);
        setParams({ edit: null });
      }
    } catch (e) {
      if (e instanceof ApiError && e.code === "version_conflict") setConflict(Number(e.detail.current_version));
      else setSaveError(e);
    } finally {
      setSaving(false);
    }
  };

  const reloadTheirs = () => {
    setConflict(null);
    setDraft(null);
    setDash(null);
    setParams({ edit: null });
    loaded.reload();
  };

  const exportJson = async () => {
    setExportError(null);
    try {
      const exported = await get<DashboardDoc>(`/api/v1/dashboards/${id}/export`);
      const url = URL.createObjectURL(new Blob([JSON.stringify(exported, null, 2)], { type: "application/json" }));
      // A download link is navigation, which the CSP allows for blob: URLs made here.
      const a = document.createElement("a");
      a.href = url;
      a.download = exportFileName(exported.title);
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 30_000);
    } catch (e) {
      setExportError(e);
    }
  };

  const applyPanel = (panel: Panel, fresh: boolean) => {
    setDraft((d) => {
      if (!d) return d;
      if (!fresh) return { ...d, panels: d.panels.map((p) => (p.id === panel.id ? panel : p)) };
      const pid = nextPanelId(d.panels, panel.kind);
      const size = defaultSize(panel.kind);
      const items = add(itemsOf(d.panels), { id: pid, x: 0, y: 0, ...size });
      const at = items.find((i) => i.id === pid)!;
      return { ...d, panels: [...d.panels, { ...panel, id: pid, layout: { x: at.x, y: at.y, w: at.w, h: at.h } }] };
    });
    setPanelEdit(null);
  };

  const showVersions = query.get("versions") === "1";
  const selectedVersion = query.get("version") ? Number(query.get("version")) : null;

  // ---- rendering ----

  if (isNew && !editor)
    return (
      <div class="narrow">
        <h1>New dashboard</h1>
        <ErrorNote error={new Error("Only editors and admins create dashboards.")} />
        <Link href="/dashboards">Back to Dashboards</Link>
      </div>
    );
  if (loaded.error && !dash) {
    const missing = loaded.error instanceof ApiError && (loaded.error.status === 404 || loaded.error.status === 400);
    return (
      <div class="narrow">
        <h1>Dashboard</h1>
        {missing ? <p>There is no dashboard here; it may have been deleted.</p> : <ErrorNote error={loaded.error} />}
        <Link href="/dashboards">Back to Dashboards</Link>
      </div>
    );
  }
  if (!doc) return <Loading label="Loading dashboard" />;

  const panels = editing ? doc.panels : byPosition(doc.panels);
  const items = itemsOf(doc.panels);
  const sync = `dashboard-${savedId ?? "new"}`;
  const onZoom = (from: number, to: number) => setRange({ from, to });

  return (
    <div class={`dash-view ${editing ? "is-editing" : ""}`}>
      <div class="page-head">
        <h1>{doc.title}</h1>
        {doc.tags.map((tag) => (
          <Badge tone="muted">{tag}</Badge>
        ))}
        {dash && !editing && (
          <span class="muted small" title={`Saved by ${dash.updated_by}`}>
            version {dash.version}
          </span>
        )}
        {editing && <Badge tone="info">{isNew ? "New, not saved yet" : dirty ? "Editing · unsaved changes" : "Editing"}</Badge>}
        <div class="actions">
          {!editing && (
            <>
              {editor && (
                <button type="button" class="btn primary" onClick={startEditing}>
                  Edit
                </button>
              )}
              <button type="button" class="btn" aria-expanded={showVersions} onClick={() => setParams({ versions: showVersions ? null : "1", version: null })}>
                Versions
              </button>
              <button type="button" class="btn" onClick={exportJson}>
                Export
              </button>
            </>
          )}
        </div>
      </div>
      {doc.description && !editing && <p class="muted dash-description">{doc.description}</p>}
      {exportError ? <ErrorNote error={exportError} /> : null}

      {editing && draft && (
        <Card class="dash-editbar">
          <div class="dash-editbar-row">
            <Field label="Dashboard title" value={draft.title} maxLength={200} onInput={(e) => setDraft({ ...draft, title: e.currentTarget.value })} />
            <div class="dash-editbar-actions">
              <button
                type="button"
                class="btn"
                onClick={() =>
                  setPanelEdit({
                    isNew: true,
                    panel: { id: nextPanelId(draft.panels, "timeseries"), title: "", kind: "timeseries", query: exampleQuery("timeseries"), layout: { x: 0, y: 0, ...defaultSize("timeseries") }, options: {}, time: null, show_annotations: true },
                  })
                }
              >
                Add panel
              </button>
              <button type="button" class="btn" onClick={() => setSheet("variables")}>
                Variables
              </button>
              <button type="button" class="btn" onClick={() => setSheet("settings")}>
                Settings
              </button>
              <span class="dash-sep" />
              <button type="button" class="btn primary" disabled={saving || !draft.title.trim() || !dirty} title={dirty ? undefined : "Nothing changed yet"} onClick={() => void save()}>
                {saving ? "Saving…" : "Save"}
              </button>
              {discarding ? (
                <>
                  <button type="button" class="btn danger" onClick={stopEditing}>
                    Discard changes
                  </button>
                  <button type="button" class="btn" onClick={() => setDiscarding(false)}>
                    Keep editing
                  </button>
                </>
              ) : (
                <button type="button" class="btn" onClick={() => (dirty ? setDiscarding(true) : stopEditing())}>
                  Cancel
                </button>
              )}
            </div>
          </div>
          {conflict !== null && (
            <div class="error-note dash-conflict" role="alert">
              <div>
                Someone else saved this dashboard (now version {conflict}) after you started editing version {base}. Reload to see their version — your changes here are then lost — or save yours over it (theirs stays in Versions).
              </div>
              <div class="row">
                <button type="button" class="btn" onClick={reloadTheirs}>
                  Reload
                </button>
                <button type="button" class="btn danger" onClick={() => void save(conflict)}>
                  Save mine over it
                </button>
              </div>
            </div>
          )}
          {saveError ? <SaveError error={saveError} /> : null}
          <p class="muted small dash-edit-help">Drag a panel by its title to move it and by its corner to resize it, or use its arrow buttons. Nothing is stored until Save.</p>
        </Card>
      )}

      <VariableBar
        variables={variables}
        options={options}
        errors={opts.data?.errors ?? {}}
        values={values}
        given={new Set(Object.keys(given))}
        onChange={(name, vals) => navigate(location.value.path + withVariable(location.value.search, name, vals))}
      />

      {panels.length === 0 ? (
        <Card>
          <Empty>{editing ? "No panels yet. Add panel puts one on the grid." : editor ? "No panels yet. Choose Edit, then Add panel." : "This dashboard has no panels yet."}</Empty>
        </Card>
      ) : (
        <div class={`dash-grid ${editing ? "editing" : ""}`} ref={gridRef}>
          {panels.map((p) => (
            <PanelCard
              key={p.id}
              panel={p}
              dashboardId={savedId}
              version={dash?.version ?? 0}
              editing={editing}
              range={range}
              urlValues={given}
              params={runParams}
              tick={t}
              markers={markers}
              sync={sync}
              xRange={xRange}
              onZoom={onZoom}
              dragging={dragging === p.id}
              moves={
                editing
                  ? (Object.fromEntries(
                      [...DIRECTIONS.map((d) => [d, step(items, p.id, d)] as const), ...RESIZES.map((r) => [r, resize(items, p.id, r)] as const)].map(([k, next]) => [k, next === items ? null : () => applyItems(next)]),
                    ) as Record<Direction | Resize, (() => void) | null>)
                  : undefined
              }
              onEdit={() => setPanelEdit({ panel: p, isNew: false })}
              onRemove={() =>
                setDraft((d) => {
                  if (!d) return d;
                  const next = remove(itemsOf(d.panels), p.id);
                  return { ...d, panels: d.panels.filter((x) => x.id !== p.id).map((x) => ({ ...x, layout: (({ x: a, y, w, h }) => ({ x: a, y, w, h }))(next.find((i) => i.id === x.id)!) })) };
                })
              }
              onDragStart={editing ? (e, mode) => startDrag(p.id, e, mode) : undefined}
            />
          ))}
        </div>
      )}

      {editing && panelEdit && draft && (
        <PanelEditor
          key={panelEdit.panel.id + String(panelEdit.isNew)}
          panel={panelEdit.panel}
          isNew={panelEdit.isNew}
          range={range}
          params={runParams}
          declared={draft.variables.map((v) => v.name)}
          onApply={(panel) => applyPanel(panel, panelEdit.isNew)}
          onCancel={() => setPanelEdit(null)}
        />
      )}
      {editing && sheet === "variables" && draft && (
        <VariablesEditor
          variables={draft.variables}
          range={range}
          values={values}
          onApply={(vars) => {
            setDraft({ ...draft, variables: vars });
            setSheet(null);
          }}
          onCancel={() => setSheet(null)}
        />
      )}
      {editing && sheet === "settings" && draft && (
        <SettingsEditor
          doc={draft}
          onApply={(next) => {
            setDraft(next);
            setSheet(null);
          }}
          onCancel={() => setSheet(null)}
        />
      )}
      {!editing && showVersions && dash && (
        <Versions
          dashboardId={dash.id}
          current={dash.version}
          canRestore={editor}
          selected={selectedVersion}
          onSelect={(n) => setParams({ version: n })}
          onRestored={(restored) => {
            setDash(restored);
            setParams({ versions: null, version: null });
          }}
          onClose={() => setParams({ versions: null, version: null })}
        />
      )}
    </div>
  );
}

function SaveError({ error }: { error: unknown }) {
  const d = error instanceof ApiError ? (error.detail as { field?: string; panel?: string; line?: number; column?: number; hint?: string }) : {};
  return (
    <div>
      <ErrorNote error={error} />
      {(d.panel || d.line || d.hint) && (
        <p class="muted small">
          {d.panel && <>In panel “{d.panel}”. </>}
          {d.line && (
            <>
              At line {d.line}
              {d.column ? `, column ${d.column}` : ""}.{" "}
            </>
          )}
          {d.hint}
        </p>
      )}
    </div>
  );
}
