// The one time-chart component, on uPlot: lines, bars or points, optional stacking, a
// brush that zooms the page's range, a cursor synced across every chart with the same
// `sync` key, and a plugin drawing annotation and alert markers with hover titles.
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { axisTimeFormat, formatNumber } from "../lib/format";
import { colorFor } from "../lib/colors";
import { theme, cssVar } from "../lib/theme";

export interface ChartSeries {
  label: string;
  color?: string;
  /** How the series is drawn; default `line`. */
  kind?: "line" | "bars" | "points";
  /** Value formatter for the legend and tooltip. */
  format?: (v: number) => string;
}

export interface Marker {
  /** Epoch milliseconds. */
  time: number;
  timeEnd?: number;
  title: string;
  kind: "annotation" | "alert-firing" | "alert-resolved";
}

export interface ChartProps {
  /** `[x seconds[], ...series values[]]`, aligned. */
  data: (number | null)[][];
  series: ChartSeries[];
  height?: number;
  /** Stack the series (bars or lines) so their sum is the top edge. */
  stacked?: boolean;
  markers?: Marker[];
  /** Called with the brushed range in epoch ms; without it the brush is off. */
  onZoom?: (from: number, to: number) => void;
  /** Charts with the same key share the cursor. */
  sync?: string;
  yFormat?: (v: number) => string;
  /** Accessible name of the chart. */
  label: string;
  /** Fixed x range in seconds, so empty edges show. */
  xRange?: [number, number];
  /** Draw x as plain numbers instead of time (e.g. a scatter over durations). */
  xIsTime?: boolean;
  /** Called with the data index under the cursor when the plot is clicked (not brushed). */
  onPick?: (index: number) => void;
}

/** Cumulative sums for stacking; each series then draws from its band to the previous. */
export function stack(data: (number | null)[][]): (number | null)[][] {
  const out: (number | null)[][] = [data[0]];
  const acc = new Array(data[0].length).fill(0);
  for (let s = 1; s < data.length; s++) {
    out.push(data[s].map((v, i) => (acc[i] += v ?? 0)));
  }
  return out;
}

function markersPlugin(markers: Marker[]): uPlot.Plugin {
  let layer: HTMLDivElement;
  return {
    hooks: {
      init: (u) => {
        layer = document.createElement("div");
        layer.className = "chart-markers";
        u.over.appendChild(layer);
      },
      draw: (u) => {
        layer.replaceChildren();
        for (const m of markers) {
          const left = u.valToPos(m.time / 1000, "x");
          if (left < 0 || left > u.over.clientWidth) continue;
          const el = document.createElement("div");
          el.className = `chart-marker ${m.kind}`;
          el.style.left = `${left}px`;
          if (m.timeEnd) el.style.width = `${Math.max(2, u.valToPos(m.timeEnd / 1000, "x") - left)}px`;
          el.title = m.title;
          el.setAttribute("role", "img");
          el.setAttribute("aria-label", m.title);
          layer.appendChild(el);
        }
      },
    },
  };
}

export function Chart(props: ChartProps) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const latest = useRef(props);
  latest.current = props;

  useEffect(() => {
    const el = host.current!;
    const p = latest.current;
    const width = el.clientWidth || 600;
    const raw = p.data;
    const data = p.stacked ? stack(raw) : raw;
    const xIsTime = p.xIsTime !== false;
    // Canvas cannot read CSS variables: resolve the theme's colours now (rebuilt on change).
    const muted = cssVar("--muted");
    const grid = cssVar("--grid");
    const opts: uPlot.Options = {
      width,
      height: p.height ?? 180,
      plugins: p.markers?.length ? [markersPlugin(p.markers)] : [],
      scales: { x: { time: xIsTime, ...(p.xRange ? { range: () => p.xRange as [number, number] } : {}) }, y: { range: (_u, min, max) => [Math.min(0, min), max > 0 ? max * 1.05 : 1] } },
      cursor: {
        sync: p.sync ? { key: p.sync } : undefined,
        drag: { x: !!p.onZoom, y: false, setScale: false },
        points: { size: 6 },
      },
      legend: { show: p.series.length > 1, live: true },
      axes: [
        {
          stroke: muted,
          grid: { stroke: grid, width: 1 },
          ticks: { stroke: grid },
          values: xIsTime
            ? (u, ticks, _space, _incr) => {
                const spacing = ticks.length > 1 ? ticks[1] - ticks[0] : 60;
                const span = (u.scales.x.max ?? 0) - (u.scales.x.min ?? 0);
                const fmt = axisTimeFormat(spacing, span);
                return ticks.map((t) => fmt(new Date(t * 1000)));
              }
            : (_u, ticks) => ticks.map((t) => formatNumber(t)),
        },
        {
          stroke: muted,
          grid: { stroke: grid, width: 1 },
          ticks: { stroke: grid },
          size: 56,
          values: (_u, ticks) => ticks.map((t) => (p.yFormat ?? formatNumber)(t)),
        },
      ],
      series: [
        {},
        ...p.series.map((s, i) => {
          const color = s.color ?? colorFor(s.label);
          const kind = s.kind ?? "line";
          const rawValues = raw[i + 1];
          return {
            label: s.label,
            stroke: color,
            fill: kind === "bars" ? color : p.stacked ? `${color}55` : undefined,
            width: kind === "points" ? 0 : kind === "bars" ? 0 : 1.5,
            paths: kind === "bars" ? uPlot.paths.bars!({ size: [0.85, 40], align: 1 }) : kind === "points" ? () => null : undefined,
            points: kind === "points" ? { show: true, size: 5, fill: color, stroke: color } : kind === "bars" ? { show: false } : { size: 4 },
            // The legend shows the series' own value, not the stacked sum.
            value: (_u: uPlot, _v: number | null, _si: number, idx: number | null) => {
              const v = idx === null ? null : rawValues[idx];
              return v === null || v === undefined ? "–" : (s.format ?? formatNumber)(v);
            },
          } satisfies uPlot.Series;
        }),
      ],
      hooks: {
        setSelect: [
          (u) => {
            if (!latest.current.onZoom || u.select.width < 4) return;
            const from = u.posToVal(u.select.left, "x");
            const to = u.posToVal(u.select.left + u.select.width, "x");
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
            latest.current.onZoom(Math.round(from * 1000), Math.round(to * 1000));
          },
        ],
      },
    };
    // Stacked series draw largest first so each band's colour shows.
    if (p.stacked) {
      const order = opts.series.slice(1).map((_, i) => i + 1).reverse();
      opts.series = [opts.series[0], ...order.map((i) => opts.series[i])];
      const sorted = [data[0], ...order.map((i) => data[i])];
      plot.current = new uPlot(opts, sorted as uPlot.AlignedData, el);
    } else {
      plot.current = new uPlot(opts, data as uPlot.AlignedData, el);
    }
    // A click (no brush movement) picks the point under the cursor.
    let downX = 0;
    const over = plot.current.over;
    over.addEventListener("mousedown", (e) => (downX = e.clientX));
    over.addEventListener("click", (e) => {
      const idx = plot.current?.cursor.idx;
      if (latest.current.onPick && Math.abs(e.clientX - downX) < 4 && idx !== null && idx !== undefined) latest.current.onPick(idx);
    });
    const resize = new ResizeObserver(() => {
      const w = el.clientWidth;
      if (w && plot.current && Math.abs(plot.current.width - w) > 1) plot.current.setSize({ width: w, height: p.height ?? 180 });
    });
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
    // Rebuild when the shape changes; data-only changes also rebuild (cheap at our sizes
    // and keeps stacking and markers right).
  }, [props.data, props.series.map((s) => s.label + s.kind).join("|"), props.stacked, props.markers, props.height, props.xRange?.[0], props.xRange?.[1], theme.value]);

  return <div class="chart" ref={host} role="figure" aria-label={props.label} />;
}
