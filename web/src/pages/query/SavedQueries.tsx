// Saved queries (SPEC §8 `/api/v1/saved-queries`): the form that saves the editor's text
// (new, or over the one that is open), and the side list that opens them.
import { useState } from "preact/hooks";
import { del, post, put, withQuery } from "../../lib/api";
import { Link, location } from "../../lib/router";
import { canEdit } from "../../lib/session";
import { Card, Empty, ErrorNote, Field, Loading } from "../../components/ui";

export interface SavedQuery {
  id: string;
  name: string;
  description: string;
  query: string;
  tags: string[];
  created_by: string;
  created_at: string;
  updated_at: string;
}

const tagsOf = (text: string) =>
  text
    .split(",")
    .map((t) => t.trim())
    .filter(Boolean);

/** The URL that opens a saved query, keeping the page's time range. */
export function openHref(saved: SavedQuery): string {
  const q = location.value.query;
  return withQuery("/query", { q: saved.query, saved: saved.id, from: q.get("from"), to: q.get("to") });
}

export function SaveForm({ query, open, onSaved, onClose }: { query: string; open: SavedQuery | null; onSaved: (saved: SavedQuery) => void; onClose: () => void }) {
  const [name, setName] = useState(open?.name ?? "");
  const [description, setDescription] = useState(open?.description ?? "");
  const [tags, setTags] = useState(open?.tags.join(", ") ?? "");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const save = async (replace: boolean) => {
    setBusy(true);
    setError(null);
    try {
      const body = { name, description, query, tags: tagsOf(tags) };
      const saved = replace && open ? await put<SavedQuery>(`/api/v1/saved-queries/${open.id}`, body) : await post<SavedQuery>("/api/v1/saved-queries", body);
      onSaved(saved);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Card title="Save query" class="q-form" actions={<button type="button" class="btn small" onClick={onClose}>Cancel</button>}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void save(false);
        }}
      >
        <div class="row">
          <Field label="Name" value={name} required maxLength={200} onInput={(e) => setName(e.currentTarget.value)} autoFocus />
          <Field label="Tags" hint="comma-separated" value={tags} onInput={(e) => setTags(e.currentTarget.value)} />
        </div>
        <Field label="Description" value={description} onInput={(e) => setDescription(e.currentTarget.value)} />
        <ErrorNote error={error} />
        <div class="q-form-actions">
          <button type="submit" class="btn primary" disabled={busy || !name.trim()}>
            Save query
          </button>
          {open && (
            <button type="button" class="btn" disabled={busy || !name.trim()} onClick={() => void save(true)}>
              Update “{open.name}”
            </button>
          )}
        </div>
      </form>
    </Card>
  );
}

export function SavedList({ list, loading, error, activeId, onChanged }: { list?: SavedQuery[]; loading: boolean; error?: Error; activeId: string | null; onChanged: () => void }) {
  const [filter, setFilter] = useState("");
  const [confirming, setConfirming] = useState<string | null>(null);
  const [deleteError, setDeleteError] = useState<unknown>(null);
  const shown = (list ?? []).filter((s) => !filter || s.name.toLowerCase().includes(filter.toLowerCase()) || s.tags.some((t) => t.toLowerCase().includes(filter.toLowerCase())));

  const remove = async (s: SavedQuery) => {
    setDeleteError(null);
    try {
      await del(`/api/v1/saved-queries/${s.id}`);
      setConfirming(null);
      onChanged();
    } catch (e) {
      setDeleteError(e);
    }
  };

  return (
    <Card title="Saved queries" class="q-saved">
      {(list?.length ?? 0) > 6 && <Field label="Filter saved queries" value={filter} onInput={(e) => setFilter(e.currentTarget.value)} />}
      <ErrorNote error={error ?? deleteError} />
      {!list && loading && <Loading />}
      {list && list.length === 0 && <Empty>No saved queries yet. {canEdit.value ? "Run a query and press Save." : ""}</Empty>}
      <ul class="q-saved-list" aria-label="Saved queries">
        {shown.map((s) => (
          <li class={s.id === activeId ? "active" : ""}>
            <Link href={openHref(s)} aria-current={s.id === activeId ? "true" : undefined}>
              {s.name}
            </Link>
            {s.tags.length > 0 && <span class="q-tags">{s.tags.map((t) => `#${t}`).join(" ")}</span>}
            <code class="q-snippet" title={s.query}>
              {s.query}
            </code>
            {canEdit.value && (
              <div class="q-saved-actions">
                {confirming === s.id ? (
                  <>
                    <button type="button" class="btn small danger" onClick={() => void remove(s)}>
                      Delete “{s.name}”
                    </button>
                    <button type="button" class="btn small" onClick={() => setConfirming(null)}>
                      Keep
                    </button>
                  </>
                ) : (
                  <button type="button" class="link q-delete" aria-label={`Delete ${s.name}`} onClick={() => setConfirming(s.id)}>
                    Delete
                  </button>
                )}
              </div>
            )}
          </li>
        ))}
      </ul>
    </Card>
  );
}
