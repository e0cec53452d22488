// A query result as a table with real headers, windowed: only the rows in view (and a
// margin) are in the DOM, so a 10 000-row answer scrolls without freezing the page.
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import type { OqlResult } from "../../lib/api";
import { formatCell } from "./model";

const OVERSCAN = 12;
const GUESS_ROW_PX = 29;

export function ResultTable({ result, label = "Query results" }: { result: OqlResult; label?: string }) {
  const box = useRef<HTMLDivElement>(null);
  const probe = useRef<HTMLTableRowElement>(null);
  const [top, setTop] = useState(0);
  const [view, setView] = useState(560);
  const [rowPx, setRowPx] = useState(GUESS_ROW_PX);
  const n = result.rows.length;

  useEffect(() => {
    const el = box.current!;
    const ro = new ResizeObserver(() => setView(el.clientHeight || 560));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  // A new answer starts at its top.
  useEffect(() => {
    if (box.current) box.current.scrollTop = 0;
    setTop(0);
  }, [result]);
  // Rows are one line each; measure one so the spacers match what the browser draws.
  useLayoutEffect(() => {
    const h = probe.current?.getBoundingClientRect().height;
    if (h && Math.abs(h - rowPx) > 0.5) setRowPx(h);
  });

  const first = Math.max(0, Math.floor(top / rowPx) - OVERSCAN);
  const last = Math.min(n, Math.ceil((top + view) / rowPx) + OVERSCAN);
  const numeric = result.columns.map((c) => c.type === "integer" || c.type === "float");
  const span = result.columns.length || 1;

  return (
    <div class="qtable-scroll" ref={box} onScroll={(e) => setTop((e.currentTarget as HTMLDivElement).scrollTop)}>
      <table class="table qtable" aria-label={label} aria-rowcount={n + 1}>
        <thead>
          <tr aria-rowindex={1}>
            {result.columns.map((c, i) => (
              <th scope="col" class={numeric[i] ? "num" : ""} title={`${c.name} (${c.type})`}>
                {c.name}
                <span class="coltype">{c.type}</span>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {first > 0 && (
            <tr class="spacer" aria-hidden="true" style={{ height: `${first * rowPx}px` }}>
              <td colSpan={span} />
            </tr>
          )}
          {result.rows.slice(first, last).map((row, k) => (
            <tr key={first + k} aria-rowindex={first + k + 2} ref={k === 0 ? probe : undefined}>
              {result.columns.map((c, i) => {
                const cell = formatCell(row[i], c.type);
                return (
                  <td class={`${numeric[i] ? "num " : ""}c-${cell.kind}`} title={cell.title}>
                    {cell.text}
                  </td>
                );
              })}
            </tr>
          ))}
          {last < n && (
            <tr class="spacer" aria-hidden="true" style={{ height: `${(n - last) * rowPx}px` }}>
              <td colSpan={span} />
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}
