// Settings › Usage (admin): ingested records and bytes per UTC day and signal, as stacked
// bars and a table, over a day range kept in the URL (`from`, `to`, `metric`).
import { useEffect, useState } from "preact/hooks";
import { Chart } from "../../components/Chart";
import { Empty, ErrorNote, Field, Loading } from "../../components/ui";
import { get, withQuery } from "../../lib/api";
import { formatBytes, formatNumber } from "../../lib/format";
import { useLoad } from "../../lib/hooks";
import { location, setParams } from "../../lib/router";
import { SectionHead } from "./common";
import { isDay, shiftDay, usageSeries, usageTotals, utcDay, type UsageRow } from "./usage";

const PRESETS = [7, 30, 90];

export function UsageSection() {
  const q = location.value.query;
  const today = utcDay(Date.now());
  const to = isDay(q.get("to") ?? "") ? q.get("to")! : today;
  const from = isDay(q.get("from") ?? "") ? q.get("from")! : shiftDay(to, -29);
  const metric = q.get("metric") === "records" ? "records" : "bytes";
  const [draft, setDraft] = useState({ from, to });
  useEffect(() => setDraft({ from, to }), [from, to]);
  const usage = useLoad((signal) => get<{ usage: UsageRow[]; from: string; to: string }>(withQuery("/api/v1/usage", { from, to }), { signal }), [from, to]);
  const rows = usage.data?.usage ?? [];
  const { signals, data } = usageSeries(rows, from, to, metric);
  const totals = usageTotals(rows);
  const fmt = metric === "bytes" ? (v: number) => formatBytes(v) : formatNumber;
  const span = Math.round((Date.parse(to) - Date.parse(from)) / 86_400_000) + 1;
  return (
    <div class="stack">
      <SectionHead title="Usage" intro="Telemetry ingested per day (UTC) and signal: records, and bytes of uncompressed OTLP payload." />
      <form
        class="card row usage-controls"
        aria-label="Usage range"
        onSubmit={(e) => {
          e.preventDefault();
          setParams({ from: draft.from, to: draft.to });
        }}
      >
        <Field label="From day" type="date" required max={draft.to} value={draft.from} onInput={(e) => setDraft({ ...draft, from: e.currentTarget.value })} />
        <Field label="To day" type="date" required min={draft.from} value={draft.to} onInput={(e) => setDraft({ ...draft, to: e.currentTarget.value })} />
        <div class="field row-buttons">
          <button class="btn primary" type="submit">
            Show
          </button>
          {PRESETS.map((n) => (
            <button type="button" class={`btn${span === n && to === today ? " active" : ""}`} aria-pressed={span === n && to === today} onClick={() => setParams({ from: shiftDay(today, 1 - n), to: today })}>
              {n} days
            </button>
          ))}
        </div>
        <div class="field row-buttons metric-switch" role="group" aria-label="Measure">
          <button type="button" class={`btn${metric === "bytes" ? " active" : ""}`} aria-pressed={metric === "bytes"} onClick={() => setParams({ metric: null }, { replace: true })}>
            Bytes
          </button>
          <button type="button" class={`btn${metric === "records" ? " active" : ""}`} aria-pressed={metric === "records"} onClick={() => setParams({ metric: "records" }, { replace: true })}>
            Records
          </button>
        </div>
      </form>
      <ErrorNote error={usage.error} />
      {usage.loading && !usage.data && <Loading />}
      {usage.data && (
        <>
          <div class="usage-totals">
            {totals.length === 0 && <Empty>Nothing ingested between {from} and {to}. Send telemetry with an API key to see it here.</Empty>}
            {totals.map((t) => (
              <section class="card" aria-label={`${t.signal} total`}>
                <h3 class="flush">{t.signal}</h3>
                <div class="stat">{formatBytes(t.bytes)}</div>
                <div class="muted">{formatNumber(t.records)} records</div>
              </section>
            ))}
          </div>
          {signals.length > 0 && (
            <section class="card" aria-label="Usage chart">
              <h3 class="flush">{metric === "bytes" ? "Bytes" : "Records"} per day</h3>
              <Chart
                label={`Ingested ${metric} per day and signal`}
                data={data}
                series={signals.map((s) => ({ label: s, kind: "bars", format: fmt }))}
                stacked
                height={240}
                yFormat={fmt}
                xRange={[Date.parse(`${from}T00:00:00Z`) / 1000, Date.parse(`${to}T00:00:00Z`) / 1000 + 86_400]}
              />
            </section>
          )}
          {rows.length > 0 && (
            <section class="card" aria-label="Usage by day">
              <table class="table">
                <thead>
                  <tr>
                    <th>Day (UTC)</th>
                    <th>Signal</th>
                    <th class="num">Records</th>
                    <th class="num">Bytes</th>
                  </tr>
                </thead>
                <tbody>
                  {rows.map((r) => (
                    <tr>
                      <td>{r.day}</td>
                      <td>{r.signal}</td>
                      <td class="num">{r.records.toLocaleString("en")}</td>
                      <td class="num" title={`${r.bytes.toLocaleString("en")} bytes`}>
                        {formatBytes(r.bytes)}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </section>
          )}
        </>
      )}
    </div>
  );
}
