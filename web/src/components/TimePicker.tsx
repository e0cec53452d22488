// The time picker every page shares: relative presets (now-5m … now-30d), absolute From/To
// fields, and auto refresh, all kept in the URL (`from`, `to`, `refresh`).
import { useEffect, useState } from "preact/hooks";
import { location, setParams } from "../lib/router";
import { PRESETS, REFRESH_CHOICES, parseTime, rangeLabel, setRange, urlRange } from "../lib/time";
import { Field } from "./ui";

export function TimePicker() {
  const range = urlRange.value;
  const [open, setOpen] = useState(false);
  const [from, setFrom] = useState(range.from);
  const [to, setTo] = useState(range.to);
  const [error, setError] = useState<string | null>(null);
  const refresh = location.value.query.get("refresh") ?? "off";
  useEffect(() => {
    setFrom(range.from);
    setTo(range.to);
  }, [range.from, range.to]);

  const apply = (e: Event) => {
    e.preventDefault();
    try {
      const now = Date.now();
      if (parseTime(from, now) >= parseTime(to, now)) throw new Error("From must be before To");
      setError(null);
      setRange({ from: from.trim(), to: to.trim() });
      setOpen(false);
    } catch (err) {
      setError((err as Error).message);
    }
  };

  return (
    <div class="timepicker">
      <button type="button" class="btn" aria-haspopup="dialog" aria-expanded={open} onClick={() => setOpen(!open)} title="Time range">
        {rangeLabel(range)}
      </button>
      <label class="inline">
        <span class="sr-only">Auto refresh</span>
        <select aria-label="Auto refresh" value={refresh} onChange={(e) => setParams({ refresh: (e.currentTarget as HTMLSelectElement).value === "off" ? null : (e.currentTarget as HTMLSelectElement).value }, { replace: true })}>
          {REFRESH_CHOICES.map((c) => (
            <option value={c}>{c === "off" ? "Refresh off" : `Every ${c}`}</option>
          ))}
        </select>
      </label>
      {open && (
        <div class="popover" role="dialog" aria-label="Time range">
          <div class="presets">
            {PRESETS.map((p) => (
              <button
                type="button"
                class={`link ${range.from === p.from && range.to === "now" ? "active" : ""}`}
                onClick={() => {
                  setRange({ from: p.from, to: "now" });
                  setOpen(false);
                }}
              >
                {p.label}
              </button>
            ))}
          </div>
          <form class="absolute" onSubmit={apply}>
            <Field label="From" value={from} onInput={(e) => setFrom(e.currentTarget.value)} hint="now-15m, 2026-11-22T10:00:00Z" />
            <Field label="To" value={to} onInput={(e) => setTo(e.currentTarget.value)} />
            {error && (
              <div class="error-note" role="alert">
                {error}
              </div>
            )}
            <button class="btn primary" type="submit">
              Apply
            </button>
          </form>
        </div>
      )}
    </div>
  );
}
