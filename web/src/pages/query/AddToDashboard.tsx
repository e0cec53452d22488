// "Add to dashboard": a panel holding the query appended to a chosen dashboard (or a new
// one). The save names the version it edited (If-Match); when someone saved in between,
// the dashboard is read again and the panel added to that.
import { useState } from "preact/hooks";
import { ApiError, apiWithEtag, get, post, put } from "../../lib/api";
import { useLoad } from "../../lib/hooks";
import { stripTimeRange } from "../../lib/oqlLanguage";
import { Link } from "../../lib/router";
import { Card, ErrorNote, Field, Loading, SelectField } from "../../components/ui";
import { appendPanel, editableDoc, panelTitle, type PanelKind } from "./model";

interface DashboardSummary {
  id: string;
  title: string;
  version: number;
}

const NEW = "__new__";
const KINDS: { value: PanelKind; label: string }[] = [
  { value: "timeseries", label: "Time series" },
  { value: "bar", label: "Bar" },
  { value: "table", label: "Table" },
  { value: "stat", label: "Stat" },
];

async function addPanel(dashboardId: string, panel: { title: string; kind: PanelKind; query: string }): Promise<{ title: string; id: string }> {
  for (let attempt = 0; ; attempt++) {
    const { body, etag } = await apiWithEtag<Record<string, unknown>>(`/api/v1/dashboards/${dashboardId}`);
    const { doc } = appendPanel(editableDoc(body), panel);
    try {
      await put(`/api/v1/dashboards/${dashboardId}`, doc, { headers: { "If-Match": etag ?? `"${body.version}"` } });
      return { title: String(body.title), id: dashboardId };
    } catch (e) {
      // Someone else saved first: add the panel to what they saved.
      if (e instanceof ApiError && e.code === "version_conflict" && attempt < 2) continue;
      throw e;
    }
  }
}

export function AddToDashboard({ query, suggested, onClose }: { query: string; suggested: PanelKind; onClose: () => void }) {
  const dashboards = useLoad((signal) => get<{ dashboards: DashboardSummary[] }>("/api/v1/dashboards?limit=1000", { signal }), []);
  const list = dashboards.data?.dashboards ?? [];
  const [choice, setChoice] = useState<string>("");
  const [newTitle, setNewTitle] = useState("");
  const [title, setTitle] = useState(panelTitle(query));
  const [kind, setKind] = useState<PanelKind>(suggested);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<{ title: string; id: string } | null>(null);
  const stripped = stripTimeRange(query);
  const selected = choice || (list[0]?.id ?? NEW);

  const submit = async () => {
    setBusy(true);
    setError(null);
    try {
      const panel = { title, kind, query: stripped.query };
      if (selected === NEW) {
        const { doc } = appendPanel({ title: newTitle.trim(), panels: [] }, panel);
        const created = await post<{ id: string; title: string }>("/api/v1/dashboards", doc);
        setDone({ title: created.title, id: created.id });
      } else {
        setDone(await addPanel(selected, panel));
      }
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Card title="Add to dashboard" class="q-form" actions={<button type="button" class="btn small" onClick={onClose}>Close</button>}>
      {dashboards.loading && !dashboards.data ? (
        <Loading label="Loading dashboards" />
      ) : (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void submit();
          }}
        >
          <div class="row">
            <SelectField
              label="Dashboard"
              value={selected}
              onChange={(e) => {
                setChoice(e.currentTarget.value);
                setDone(null);
              }}
              options={[...list.map((d) => ({ value: d.id, label: d.title })), { value: NEW, label: "New dashboard…" }]}
            />
            {selected === NEW && <Field label="Dashboard title" value={newTitle} required onInput={(e) => setNewTitle(e.currentTarget.value)} />}
            <Field label="Panel title" value={title} onInput={(e) => setTitle(e.currentTarget.value)} />
            <SelectField label="Panel kind" value={kind} onChange={(e) => setKind(e.currentTarget.value as PanelKind)} options={KINDS} />
          </div>
          {stripped.removed && (
            <p class="muted q-note">
              Panels take their time range from the dashboard, so <code>{stripped.removed}</code> is left out of the panel's query.
            </p>
          )}
          <ErrorNote error={dashboards.error ?? error} />
          {done && (
            <p class="q-done" role="status">
              Added to <Link href={`/dashboards/${done.id}`}>{done.title}</Link>.
            </p>
          )}
          <div class="q-form-actions">
            <button type="submit" class="btn primary" disabled={busy || (selected === NEW && !newTitle.trim())}>
              Add panel
            </button>
          </div>
        </form>
      )}
    </Card>
  );
}
