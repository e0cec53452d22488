// A dashboard's saved versions, newest first: who saved each and when, what one held
// (its panels and the whole document), and, for editors, restoring one as a new version.
import { useState } from "preact/hooks";
import { JsonView } from "../../components/JsonView";
import { Badge, ErrorNote, Loading } from "../../components/ui";
import { ApiError, api, get } from "../../lib/api";
import { PANEL_KINDS, type Dashboard, type VersionDoc, type VersionInfo } from "../../lib/dashboard";
import { formatRelative, formatTimestamp } from "../../lib/format";
import { useLoad } from "../../lib/hooks";
import { Drawer } from "./Drawer";

export interface VersionsProps {
  dashboardId: string;
  current: number;
  canRestore: boolean;
  /** The version shown in full (from the URL), or null for the list. */
  selected: number | null;
  onSelect: (version: number | null) => void;
  onRestored: (dashboard: Dashboard, etag: string | null) => void;
  onClose: () => void;
}

const kindLabel = (k: string) => PANEL_KINDS.find((p) => p.value === k)?.label ?? k;

function VersionDetail({ dashboardId, version, current, canRestore, onBack, onRestored }: { dashboardId: string; version: number; current: number; canRestore: boolean; onBack: () => void; onRestored: VersionsProps["onRestored"] }) {
  const loaded = useLoad((signal) => get<VersionDoc>(`/api/v1/dashboards/${dashboardId}/versions/${version}`, { signal }), [dashboardId, version]);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const restore = async () => {
    setBusy(true);
    setError(null);
    try {
      // Naming the version shown makes a restore over someone else's newer save a 412.
      const res = await fetchRestore(dashboardId, version, current);
      onRestored(res.body, res.etag);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const v = loaded.data;
  return (
    <div class="dash-version">
      <button type="button" class="link" onClick={onBack}>
        ← All versions
      </button>
      <h3>Version {version}</h3>
      {loaded.error && <ErrorNote error={loaded.error} />}
      {!v ? (
        <Loading />
      ) : (
        <>
          <p class="muted small">
            Saved by {v.created_by} {formatRelative(v.created_at)} ({formatTimestamp(v.created_at)}){v.restored_from ? `, restored from version ${v.restored_from}` : ""}.
          </p>
          <dl class="kv">
            <dt>title</dt>
            <dd>{v.document.title}</dd>
            <dt>panels</dt>
            <dd>{v.document.panels.length}</dd>
            <dt>variables</dt>
            <dd>{v.document.variables.map((x) => `$${x.name}`).join(", ") || "none"}</dd>
          </dl>
          {v.document.panels.length > 0 && (
            <table class="table" aria-label={`Panels of version ${version}`}>
              <thead>
                <tr>
                  <th>Panel</th>
                  <th>Kind</th>
                  <th>Query</th>
                </tr>
              </thead>
              <tbody>
                {v.document.panels.map((p) => (
                  <tr>
                    <td>{p.title || p.id}</td>
                    <td>{kindLabel(p.kind)}</td>
                    <td>
                      <code class="dash-code">{p.query}</code>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {canRestore && (
            <div class="row dash-restore">
              <button type="button" class="btn primary" onClick={restore} disabled={busy || version === current}>
                {busy ? "Restoring…" : "Restore"}
              </button>
              <span class="muted small">{version === current ? "This is the current version." : `Saves a new version ${current + 1} with this content; nothing is lost.`}</span>
            </div>
          )}
          {error ? (
            error instanceof ApiError && error.code === "version_conflict" ? (
              <div class="error-note" role="alert">
                Someone else saved version {String(error.detail.current_version)} meanwhile. Close this, reload the dashboard, and restore again if you still want to.
              </div>
            ) : (
              <ErrorNote error={error} />
            )
          ) : null}
          <details>
            <summary>The whole document</summary>
            <JsonView value={v.document} />
          </details>
        </>
      )}
    </div>
  );
}

/** `POST .../versions/{n}/restore` with If-Match, answering the dashboard and its ETag. */
async function fetchRestore(id: string, version: number, current: number): Promise<{ body: Dashboard; etag: string | null }> {
  const body = await api<Dashboard>("POST", `/api/v1/dashboards/${id}/versions/${version}/restore`, undefined, { headers: { "If-Match": `"${current}"` } });
  return { body, etag: `"${body.version}"` };
}

export function Versions(props: VersionsProps) {
  const list = useLoad((signal) => get<{ versions: VersionInfo[] }>(`/api/v1/dashboards/${props.dashboardId}/versions?limit=100`, { signal }), [props.dashboardId, props.current]);
  return (
    <Drawer title="Versions" onClose={props.onClose} wide>
      {props.selected !== null ? (
        <VersionDetail dashboardId={props.dashboardId} version={props.selected} current={props.current} canRestore={props.canRestore} onBack={() => props.onSelect(null)} onRestored={props.onRestored} />
      ) : list.error ? (
        <ErrorNote error={list.error} />
      ) : !list.data ? (
        <Loading label="Loading versions" />
      ) : (
        <table class="table" aria-label="Versions">
          <thead>
            <tr>
              <th>Version</th>
              <th>Saved</th>
              <th>By</th>
              <th aria-label="Actions" />
            </tr>
          </thead>
          <tbody>
            {list.data.versions.map((v) => (
              <tr>
                <td>
                  {v.version} {v.version === props.current && <Badge tone="info">current</Badge>}
                  {v.restored_from && <span class="muted small"> restored from {v.restored_from}</span>}
                </td>
                <td title={formatTimestamp(v.created_at)}>{formatRelative(v.created_at)}</td>
                <td class="muted">{v.created_by}</td>
                <td>
                  <button type="button" class="btn small" onClick={() => props.onSelect(v.version)} aria-label={`View version ${v.version}`}>
                    View
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Drawer>
  );
}
