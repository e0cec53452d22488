// A virtualised list of fixed-height rows: only the rows in view (plus a margin) are in
// the DOM, so 10 000 log lines or spans scroll without freezing the page.
import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";

export interface VirtualListProps {
  count: number;
  rowHeight: number;
  /** Height of the scrolling viewport in px (or CSS length). */
  height: number | string;
  renderRow: (index: number) => ComponentChildren;
  /** Accessible name of the list. */
  label: string;
  /** Rows rendered beyond each edge of the viewport. */
  overscan?: number;
  /** Row to scroll into view when it changes. */
  scrollTo?: number | null;
  class?: string;
}

export function VirtualList({ count, rowHeight, height, renderRow, label, overscan = 10, scrollTo, class: cls }: VirtualListProps) {
  const box = useRef<HTMLDivElement>(null);
  const [top, setTop] = useState(0);
  const [view, setView] = useState(600);
  useEffect(() => {
    const el = box.current!;
    const ro = new ResizeObserver(() => setView(el.clientHeight));
    ro.observe(el);
    setView(el.clientHeight);
    return () => ro.disconnect();
  }, []);
  useEffect(() => {
    if (scrollTo === null || scrollTo === undefined || !box.current) return;
    const el = box.current;
    const y = scrollTo * rowHeight;
    if (y < el.scrollTop || y + rowHeight > el.scrollTop + el.clientHeight) el.scrollTop = Math.max(0, y - el.clientHeight / 3);
  }, [scrollTo]);
  const first = Math.max(0, Math.floor(top / rowHeight) - overscan);
  const last = Math.min(count, Math.ceil((top + view) / rowHeight) + overscan);
  const rows = [];
  for (let i = first; i < last; i++) {
    rows.push(
      <div class="vrow" role="listitem" key={i} style={{ top: `${i * rowHeight}px`, height: `${rowHeight}px` }}>
        {renderRow(i)}
      </div>,
    );
  }
  return (
    <div
      ref={box}
      class={`vlist ${cls ?? ""}`}
      role="list"
      aria-label={label}
      aria-rowcount={count}
      style={{ height: typeof height === "number" ? `${height}px` : height }}
      onScroll={(e) => setTop((e.currentTarget as HTMLDivElement).scrollTop)}
    >
      <div class="vspacer" style={{ height: `${count * rowHeight}px` }}>
        {rows}
      </div>
    </div>
  );
}
