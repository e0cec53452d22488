// `/dashboards`: the org's dashboards (title, panels, last update) with search; editors
// start a new one, import an export (pasted or uploaded), and delete.
import { useEffect, useState } from "preact/hooks";
import { ApiError, del, get, post, withQuery } from "../../lib/api";
import { parseImport, type Dashboard, type DashboardSummary } from "../../lib/dashboard";
import { formatRelative, formatTimestamp } from "../../lib/format";
import { useLoad, useTitle } from "../../lib/hooks";
import { Link, location, navigate, setParams } from "../../lib/router";
import { canEdit } from "../../lib/session";
import { Badge, Card, Empty, ErrorNote, Field, Loading, TextArea } from "../../components/ui";
import "./dashboards.css";

interface ListAnswer {
  dashboards: DashboardSummary[];
  next_cursor: string | null;
}

const PAGE = 50;

/** Panel counts are not in the listing: read each shown dashboard, a few at a time. */
function usePanelCounts(ids: string[]): Record<string, number> {
  const [counts, setCounts] = useState<Record<string, number>>({});
  const key = ids.join(",");
  useEffect(() => {
    const abort = new AbortController();
    const queue = ids.filter((id) => !(id in counts));
    const worker = async () => {
      for (let id = queue.shift(); id && !abort.signal.aborted; id = queue.shift()) {
        try {
          const d = await get<Dashboard>(`/api/v1/dashboards/${id}`, { signal: abort.signal });
          setCounts((c) => ({ ...c, [id]: d.panels.length }));
        } catch {
          /* deleted meanwhile or aborted: the row shows no count */
        }
      }
    };
    void Promise.all([worker(), worker(), worker(), worker()]);
    return () => abort.abort();
  }, [key]);
  return counts;
}

function NewDashboard({ onClose }: { onClose: () => void }) {
  const [title, setTitle] = useState("");
  const [error, setError] = useState<string | null>(null);
  return (
    <Card title="New dashboard" class="dash-form">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (!title.trim()) return setError("Give the dashboard a title.");
          // Nothing is stored until the first Save, so an abandoned draft leaves nothing behind.
          navigate(withQuery("/dashboards/new", { title: title.trim(), edit: "1" }));
        }}
      >
        <Field label="Title" value={title} maxLength={200} onInput={(e) => setTitle(e.currentTarget.value)} placeholder="Checkout" autoFocus />
        {error && (
          <div class="error-note" role="alert">
            {error}
          </div>
        )}
        <div class="row">
          <button class="btn primary" type="submit">
            Create
          </button>
          <button class="btn" type="button" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Card>
  );
}

function ImportDashboard({ onClose }: { onClose: () => void }) {
  const [text, setText] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      const doc = parseImport(text);
      setBusy(true);
      const created = await post<Dashboard>("/api/v1/dashboards/import", doc);
      navigate(`/dashboards/${created.id}`);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Card title="Import a dashboard" class="dash-form">
      <form onSubmit={submit}>
        <div class="field">
          <label for="dash-import-file">Export file</label>
          <input
            id="dash-import-file"
            type="file"
            accept="application/json,.json"
            onChange={async (e) => {
              const file = e.currentTarget.files?.[0];
              if (file) {
                setText(await file.text());
                setError(null);
              }
            }}
          />
        </div>
        <TextArea label="Export JSON" hint="What Export on a dashboard downloads; the import is a new dashboard." rows={10} value={text} onInput={(e) => {
            setText(e.currentTarget.value);
            setError(null);
          }} spellcheck={false} />
        {error ? <ImportError error={error} /> : null}
        <div class="row">
          <button class="btn primary" type="submit" disabled={busy}>
            {busy ? "Importing…" : "Import"}
          </button>
          <button class="btn" type="button" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Card>
  );
}

function ImportError({ error }: { error: unknown }) {
  const field = error instanceof ApiError ? (error.detail.field as string | undefined) : undefined;
  const hint = error instanceof ApiError ? (error.detail.hint as string | undefined) : undefined;
  return (
    <>
      <ErrorNote error={error} />
      {(field || hint) && (
        <p class="muted small">
          {field && (
            <>
              At <code>{field}</code>.{" "}
            </>
          )}
          {hint}
        </p>
      )}
    </>
  );
}

function DeleteButton({ dashboard, onDeleted }: { dashboard: DashboardSummary; onDeleted: () => void }) {
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<unknown>(null);
  if (!confirming)
    return (
      <button type="button" class="btn small danger" onClick={() => setConfirming(true)} aria-label={`Delete ${dashboard.title}`}>
        Delete
      </button>
    );
  return (
    <span class="dash-confirm">
      <button
        type="button"
        class="btn small danger"
        onClick={async () => {
          try {
            await del(`/api/v1/dashboards/${dashboard.id}`);
            onDeleted();
          } catch (e) {
            setError(e);
          }
        }}
      >
        Confirm delete
      </button>
      <button type="button" class="btn small" onClick={() => setConfirming(false)}>
        Keep
      </button>
      {error ? <ErrorNote error={error} /> : null}
    </span>
  );
}

export default function DashboardList() {
  useTitle("Dashboards");
  const q = location.value.query.get("q") ?? "";
  const [search, setSearch] = useState(q);
  const [open, setOpen] = useState<"new" | "import" | null>(null);
  const [pages, setPages] = useState<string[]>([]);
  useEffect(() => setSearch(q), [q]);

  const first = useLoad((signal) => get<ListAnswer>(withQuery("/api/v1/dashboards", { q, limit: PAGE }), { signal }), [q]);
  // Further pages, fetched with the cursor as the user asks for more.
  const [more, setMore] = useState<ListAnswer[]>([]);
  useEffect(() => {
    setMore([]);
    setPages([]);
  }, [q, first.data]);
  const all = [...(first.data?.dashboards ?? []), ...more.flatMap((m) => m.dashboards)];
  const cursor = more.length ? more[more.length - 1].next_cursor : first.data?.next_cursor;
  const counts = usePanelCounts(all.map((d) => d.id));
  const editor = canEdit.value;

  return (
    <div class="dash-list">
      <div class="page-head">
        <h1>Dashboards</h1>
        <form
          class="dash-search"
          role="search"
          onSubmit={(e) => {
            e.preventDefault();
            setParams({ q: search.trim() || null }, { replace: true });
          }}
        >
          <label class="inline">
            <span class="sr-only">Search dashboards</span>
            <input type="search" aria-label="Search dashboards" placeholder="Search by title" value={search} onInput={(e) => setSearch(e.currentTarget.value)} />
          </label>
        </form>
        {editor && (
          <div class="actions">
            <button type="button" class={`btn ${open === "new" ? "" : "primary"}`} aria-expanded={open === "new"} onClick={() => setOpen(open === "new" ? null : "new")}>
              New dashboard
            </button>
            <button type="button" class="btn" aria-expanded={open === "import"} onClick={() => setOpen(open === "import" ? null : "import")}>
              Import
            </button>
          </div>
        )}
      </div>
      {editor && open === "new" && <NewDashboard onClose={() => setOpen(null)} />}
      {editor && open === "import" && <ImportDashboard onClose={() => setOpen(null)} />}
      {first.error && <ErrorNote error={first.error} />}
      {first.loading && !first.data ? (
        <Loading label="Loading dashboards" />
      ) : all.length === 0 && first.data ? (
        <Card>
          <Empty>
            {q ? (
              <>No dashboard's title contains “{q}”.</>
            ) : editor ? (
              <>No dashboards yet. Start one with New dashboard, or Import one another org exported.</>
            ) : (
              <>No dashboards yet. An editor or admin of this org can create them.</>
            )}
          </Empty>
        </Card>
      ) : (
        <Card>
          <table class="table" aria-label="Dashboards">
            <thead>
              <tr>
                <th>Title</th>
                <th class="num">Panels</th>
                <th>Tags</th>
                <th>Updated</th>
                <th>By</th>
                {editor && <th aria-label="Actions" />}
              </tr>
            </thead>
            <tbody>
              {all.map((d) => (
                <tr key={d.id}>
                  <td>
                    <Link href={`/dashboards/${d.id}`}>{d.title}</Link>
                    {d.description && <div class="muted small">{d.description}</div>}
                  </td>
                  <td class="num">{counts[d.id] ?? "…"}</td>
                  <td>
                    {d.tags.map((t) => (
                      <Badge tone="muted">{t}</Badge>
                    ))}
                  </td>
                  <td title={formatTimestamp(d.updated_at)}>
                    {formatRelative(d.updated_at)} <span class="muted">· v{d.version}</span>
                  </td>
                  <td class="muted">{d.updated_by}</td>
                  {editor && (
                    <td class="dash-row-actions">
                      <DeleteButton dashboard={d} onDeleted={first.reload} />
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
          {cursor && (
            <div class="dash-more">
              <button
                type="button"
                class="btn"
                disabled={pages.includes(cursor)}
                onClick={async () => {
                  setPages((p) => [...p, cursor]);
                  const next = await get<ListAnswer>(withQuery("/api/v1/dashboards", { q, limit: PAGE, before: cursor }));
                  setMore((m) => [...m, next]);
                }}
              >
                Show more
              </button>
            </div>
          )}
        </Card>
      )}
    </div>
  );
}
