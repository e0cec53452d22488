// A dashboard's own settings while editing: description, tags, default time range and
// refresh, and which annotations (name globs, tags) and alert transitions its charts draw.
import { useState } from "preact/hooks";
import { Field, SelectField } from "../../components/ui";
import { parseOptions, type DashboardDoc } from "../../lib/dashboard";
import { parseTime } from "../../lib/time";
import { Drawer } from "./Drawer";

const REFRESH = ["", "10s", "30s", "1m", "5m", "15m", "1h"];

export function SettingsEditor({ doc, onApply, onCancel }: { doc: DashboardDoc; onApply: (doc: DashboardDoc) => void; onCancel: () => void }) {
  const [description, setDescription] = useState(doc.description);
  const [tags, setTags] = useState(doc.tags.join(", "));
  const [from, setFrom] = useState(String(doc.time.from));
  const [to, setTo] = useState(String(doc.time.to));
  const [refresh, setRefresh] = useState(doc.refresh ?? "");
  const [names, setNames] = useState(doc.annotations.names.join(", "));
  const [annTags, setAnnTags] = useState(doc.annotations.tags.join(", "));
  const [alerts, setAlerts] = useState(doc.annotations.alerts);
  const [problem, setProblem] = useState<string | null>(null);
  const refreshChoices = REFRESH.includes(refresh) ? REFRESH : [...REFRESH, refresh];

  const apply = () => {
    try {
      const now = Date.now();
      if (parseTime(from, now) >= parseTime(to, now)) throw new Error("The default range's From must be before its To.");
    } catch (e) {
      return setProblem((e as Error).message);
    }
    onApply({
      ...doc,
      description: description.trim(),
      tags: parseOptions(tags),
      time: { from: from.trim(), to: to.trim() },
      refresh: refresh || null,
      annotations: { names: parseOptions(names), tags: parseOptions(annTags), alerts },
    });
  };
  return (
    <Drawer
      title="Dashboard settings"
      onClose={onCancel}
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
      <Field label="Description" value={description} onInput={(e) => setDescription(e.currentTarget.value)} />
      <Field label="Tags" value={tags} onInput={(e) => setTags(e.currentTarget.value)} hint="Separated by commas." placeholder="payments, prod" />
      <div class="row">
        <Field label="Default from" value={from} onInput={(e) => setFrom(e.currentTarget.value)} hint="now-6h, or an RFC 3339 time" />
        <Field label="Default to" value={to} onInput={(e) => setTo(e.currentTarget.value)} />
      </div>
      <SelectField label="Default auto refresh" value={refresh} options={refreshChoices.map((r) => ({ value: r, label: r ? `Every ${r}` : "Off" }))} onChange={(e) => setRefresh(e.currentTarget.value)} />
      <h3>Markers on time series</h3>
      <Field label="Annotation names" value={names} onInput={(e) => setNames(e.currentTarget.value)} hint="Separated by commas; * matches any run of characters (deploy/*). Empty: every name." />
      <Field label="Annotation tags" value={annTags} onInput={(e) => setAnnTags(e.currentTarget.value)} hint="An annotation must carry all of them. Empty: no condition." />
      <label class="inline dash-check">
        <input type="checkbox" checked={alerts} onChange={(e) => setAlerts(e.currentTarget.checked)} /> Draw alert transitions
      </label>
      {problem && (
        <div class="error-note" role="alert">
          {problem}
        </div>
      )}
    </Drawer>
  );
}
