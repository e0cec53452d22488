// Trace waterfall layout, pure: the span tree from parent ids, depths, bar geometry
// relative to the trace, the critical path, collapsing, visible rows and ruler ticks.

/** What the layout needs of a span; the page's row object rides along as `span`. */
export interface SpanInput {
  id: string;
  /** The parent's span id; null, empty or unknown ids make the span a root. */
  parentId: string | null | undefined;
  /** Epoch milliseconds. */
  start: number;
  /** Milliseconds (fractions allowed). */
  duration: number;
}

export interface WNode<T> {
  span: T;
  id: string;
  /** Position of the parent in `nodes`, -1 for a root. */
  parent: number;
  /** Positions of the children in `nodes`, ordered by start. */
  children: number[];
  depth: number;
  /** Number of nodes below this one (the subtree minus itself). */
  descendants: number;
  start: number;
  end: number;
  /** Bar offset and width as fractions of the whole trace (0..1). */
  offset: number;
  width: number;
  /** A parent id was given but no such span arrived (or it closed a cycle). */
  orphan: boolean;
  /** On the critical path: `segments` are the stretches (epoch ms) this span itself holds it. */
  critical: boolean;
  segments: [number, number][];
}

export interface Waterfall<T> {
  /** Every span in tree pre-order (parents before children, siblings by start). */
  nodes: WNode<T>[];
  roots: number[];
  /** Span id → position in `nodes` (the first span of a duplicated id wins). */
  byId: Map<string, number>;
  start: number;
  end: number;
  /** `end - start`, never 0 (a trace of zero-length spans counts as 1 ms). */
  duration: number;
  maxDepth: number;
  /** The root the critical path starts from (the root that ends last), -1 when empty. */
  criticalRoot: number;
  criticalCount: number;
}

function byStart(a: { start: number; end: number; i: number }, b: { start: number; end: number; i: number }) {
  return a.start - b.start || a.end - b.end || a.i - b.i;
}

/** Builds the waterfall of a trace. Linear-ish (sorting aside): 10 000 spans take a few ms. */
export function buildWaterfall<T extends SpanInput>(spans: T[]): Waterfall<T> {
  const n = spans.length;
  const byInputId = new Map<string, number>();
  const start = new Float64Array(n);
  const end = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const s = spans[i];
    if (!byInputId.has(s.id)) byInputId.set(s.id, i);
    start[i] = Number.isFinite(s.start) ? s.start : 0;
    end[i] = start[i] + (Number.isFinite(s.duration) && s.duration > 0 ? s.duration : 0);
  }
  // Parent links in input positions; a missing or self parent makes a root.
  const parentOf = new Int32Array(n).fill(-1);
  const orphan = new Uint8Array(n);
  const kids: number[][] = Array.from({ length: n }, () => []);
  for (let i = 0; i < n; i++) {
    const pid = spans[i].parentId;
    if (!pid) continue;
    const p = byInputId.get(pid);
    if (p === undefined || p === i) {
      orphan[i] = 1;
      continue;
    }
    parentOf[i] = p;
    kids[p].push(i);
  }
  const key = (i: number) => ({ start: start[i], end: end[i], i });
  for (const k of kids) if (k.length > 1) k.sort((a, b) => byStart(key(a), key(b)));

  // Pre-order walk from the roots; spans never reached sit on a cycle (or under one): the
  // earliest of them is cut from its parent and walked as a root, until none are left.
  const visited = new Uint8Array(n);
  const order: number[] = [];
  const treeParent = new Int32Array(n).fill(-1);
  const depthIn = new Int32Array(n);
  const walk = (root: number) => {
    const stack = [root];
    visited[root] = 1;
    treeParent[root] = -1;
    depthIn[root] = 0;
    while (stack.length) {
      const v = stack.pop()!;
      order.push(v);
      const k = kids[v];
      for (let j = k.length - 1; j >= 0; j--) {
        const c = k[j];
        if (visited[c]) continue;
        visited[c] = 1;
        treeParent[c] = v;
        depthIn[c] = depthIn[v] + 1;
        stack.push(c);
      }
    }
  };
  const rootsIn: number[] = [];
  for (let i = 0; i < n; i++) if (parentOf[i] === -1) rootsIn.push(i);
  rootsIn.sort((a, b) => byStart(key(a), key(b)));
  for (const r of rootsIn) walk(r);
  if (order.length < n) {
    const rest: number[] = [];
    for (let i = 0; i < n; i++) if (!visited[i]) rest.push(i);
    rest.sort((a, b) => byStart(key(a), key(b)));
    const seen = new Int32Array(n).fill(-1);
    for (const r of rest) {
      if (visited[r]) continue;
      // Climb parents until one repeats: that one is on the cycle r hangs from.
      let v = r;
      while (seen[v] !== r) {
        seen[v] = r;
        v = parentOf[v];
      }
      let cut = v;
      for (let u = parentOf[v]; u !== v; u = parentOf[u]) if (byStart(key(u), key(cut)) < 0) cut = u;
      const p = parentOf[cut];
      kids[p] = kids[p].filter((c) => c !== cut);
      parentOf[cut] = -1;
      orphan[cut] = 1;
      rootsIn.push(cut);
      walk(cut);
    }
  }

  // Positions in pre-order.
  const pos = new Int32Array(n);
  for (let k = 0; k < n; k++) pos[order[k]] = k;
  let t0 = Infinity;
  let t1 = -Infinity;
  for (let i = 0; i < n; i++) {
    if (start[i] < t0) t0 = start[i];
    if (end[i] > t1) t1 = end[i];
  }
  if (!n) t0 = t1 = 0;
  const duration = t1 - t0 > 0 ? t1 - t0 : 1;
  const nodes: WNode<T>[] = new Array(n);
  let maxDepth = 0;
  for (let k = 0; k < n; k++) {
    const i = order[k];
    const d = depthIn[i];
    if (d > maxDepth) maxDepth = d;
    nodes[k] = {
      span: spans[i],
      id: spans[i].id,
      parent: treeParent[i] === -1 ? -1 : pos[treeParent[i]],
      children: [],
      depth: d,
      descendants: 0,
      start: start[i],
      end: end[i],
      offset: (start[i] - t0) / duration,
      width: (end[i] - start[i]) / duration,
      orphan: orphan[i] === 1,
      critical: false,
      segments: [],
    };
  }
  // Children in start order: pre-order already lists them so; descendants bottom-up.
  for (let k = 0; k < n; k++) {
    const p = nodes[k].parent;
    if (p >= 0) nodes[p].children.push(k);
  }
  for (let k = n - 1; k >= 0; k--) {
    const p = nodes[k].parent;
    if (p >= 0) nodes[p].descendants += nodes[k].descendants + 1;
  }
  const byId = new Map<string, number>();
  for (const [id, i] of byInputId) byId.set(id, pos[i]);
  const roots = rootsIn.map((i) => pos[i]).sort((a, b) => a - b);
  const wf: Waterfall<T> = { nodes, roots, byId, start: t0, end: t1, duration, maxDepth, criticalRoot: -1, criticalCount: 0 };
  markCriticalPath(wf);
  return wf;
}

/**
 * The critical path: the chain of work the root waited for, which decides when it ends.
 * From the root that ends last, walk back from its end: the child that finishes last
 * within its parent (at or before the point reached) holds the path until its end; descend
 * into it, and when it has no more such children go back to its parent at the child's
 * start and look again. Siblings that overlap the chosen child are off the path, and so is
 * an async child that ends after its parent: the parent did not wait for it. A child that
 * starts before its parent (clock skew) counts from the parent's start.
 * Iterative, and each span is entered at most once, so deep or odd trees cannot hang it.
 */
export function markCriticalPath<T>(wf: Waterfall<T>): void {
  const { nodes, roots } = wf;
  for (const node of nodes) {
    node.critical = false;
    node.segments = [];
  }
  wf.criticalCount = 0;
  wf.criticalRoot = -1;
  if (!roots.length) return;
  let root = roots[0];
  for (const r of roots) {
    const a = nodes[r];
    const b = nodes[root];
    if (a.end > b.end || (a.end === b.end && a.start < b.start)) root = r;
  }
  wf.criticalRoot = root;

  interface Frame {
    node: number;
    lo: number;
    hi: number;
    /** Children that end within the parent, latest end first (longer first on ties). */
    kids: { k: number; s: number; e: number }[];
    ptr: number;
  }
  const frame = (k: number, lo: number, hi: number): Frame => {
    const list: { k: number; s: number; e: number }[] = [];
    for (const c of nodes[k].children) {
      const s = Math.max(nodes[c].start, lo);
      const e = nodes[c].end;
      if (e <= hi && e > s) list.push({ k: c, s, e });
    }
    list.sort((a, b) => b.e - a.e || a.s - b.s);
    return { node: k, lo, hi, kids: list, ptr: 0 };
  };
  const mark = (k: number) => {
    if (!nodes[k].critical) {
      nodes[k].critical = true;
      wf.criticalCount++;
    }
  };
  const segment = (k: number, s: number, e: number) => {
    if (e > s) nodes[k].segments.push([s, e]);
  };

  mark(root);
  const stack: Frame[] = [frame(root, nodes[root].start, nodes[root].end)];
  let cursor = nodes[root].end;
  while (stack.length) {
    const f = stack[stack.length - 1];
    // Children ending after the cursor overlap the chosen path: skip them for good, the
    // cursor only moves back.
    while (f.ptr < f.kids.length && f.kids[f.ptr].e > cursor) f.ptr++;
    const next = f.ptr < f.kids.length ? f.kids[f.ptr] : null;
    if (next) {
      f.ptr++;
      segment(f.node, next.e, cursor);
      mark(next.k);
      stack.push(frame(next.k, next.s, next.e));
      cursor = next.e;
    } else {
      segment(f.node, f.lo, cursor);
      stack.pop();
      cursor = f.lo;
    }
  }
  // Segments were found walking back; keep them in time order.
  for (const node of nodes) if (node.segments.length > 1) node.segments.reverse();
}

/** The rows to draw: pre-order, skipping collapsed subtrees, and with `criticalOnly`
 * only the spans on the critical path. Answers positions in `nodes`. */
export function visibleRows<T>(wf: Waterfall<T>, collapsed: ReadonlySet<number>, criticalOnly = false): Int32Array {
  const out = new Int32Array(wf.nodes.length);
  let count = 0;
  const nodes = wf.nodes;
  for (let k = 0; k < nodes.length; k++) {
    const node = nodes[k];
    if (criticalOnly && !node.critical) {
      // Nothing under an off-path span is on the path.
      k += node.descendants;
      continue;
    }
    out[count++] = k;
    if (collapsed.has(k)) k += node.descendants;
  }
  return out.subarray(0, count);
}

/** Every span with children: "Collapse all" collapses these. */
export function collapsible<T>(wf: Waterfall<T>): Set<number> {
  const out = new Set<number>();
  wf.nodes.forEach((node, k) => node.children.length && out.add(k));
  return out;
}

/** `collapsed` without the ancestors of `k`, so that span shows (same set when none were). */
export function revealing<T>(wf: Waterfall<T>, collapsed: ReadonlySet<number>, k: number): ReadonlySet<number> {
  let out: Set<number> | null = null;
  for (let p = wf.nodes[k]?.parent ?? -1; p >= 0; p = wf.nodes[p].parent) {
    if (collapsed.has(p)) {
      out ??= new Set(collapsed);
      out.delete(p);
    }
  }
  return out ?? collapsed;
}

/** A zoom window as fractions of the trace, `0 <= from < to <= 1`. */
export interface View {
  from: number;
  to: number;
}
export const FULL_VIEW: View = { from: 0, to: 1 };

/** A bar's left edge and width as fractions of the view (may fall outside 0..1). */
export function project(offset: number, width: number, view: View): { left: number; width: number } {
  const span = view.to - view.from || 1;
  return { left: (offset - view.from) / span, width: width / span };
}

/** The same for an absolute stretch of time (critical segments, events). */
export function projectTime<T>(wf: Waterfall<T>, s: number, e: number, view: View) {
  return project((s - wf.start) / wf.duration, (e - s) / wf.duration, view);
}

/** A view clamped and ordered; too narrow a window (under 1e-6 of the trace) widens. */
export function clampView(from: number, to: number): View {
  let a = Math.max(0, Math.min(1, Math.min(from, to)));
  let b = Math.max(0, Math.min(1, Math.max(from, to)));
  if (b - a < 1e-6) {
    const mid = (a + b) / 2;
    a = Math.max(0, mid - 5e-7);
    b = Math.min(1, a + 1e-6);
  }
  return { from: a, to: b };
}

/** Parses the URL's `view=0.25-0.5`; anything else is the whole trace. */
export function parseView(text: string | null | undefined): View {
  const m = /^(\d*\.?\d+)-(\d*\.?\d+)$/.exec(text ?? "");
  if (!m) return FULL_VIEW;
  const v = clampView(Number(m[1]), Number(m[2]));
  return v.from <= 0 && v.to >= 1 ? FULL_VIEW : v;
}

export function formatView(v: View): string | null {
  if (v.from <= 0 && v.to >= 1) return null;
  const f = (x: number) => String(Number(x.toFixed(6)));
  return `${f(v.from)}-${f(v.to)}`;
}

/** Ruler ticks over a window of the trace: `at` is ms since the trace start, `frac` the
 * position within the view; steps of 1, 2 or 5 × 10^k ms, about `target` of them. */
export function rulerTicks(durationMs: number, view: View, target = 6): { at: number; frac: number }[] {
  const a = view.from * durationMs;
  const b = view.to * durationMs;
  const width = b - a;
  if (!(width > 0)) return [];
  const raw = width / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: { at: number; frac: number }[] = [];
  const first = Math.ceil(a / step - 1e-9);
  for (let i = first; i * step <= b + step * 1e-9 && out.length < 100; i++) {
    const at = Number((i * step).toPrecision(12));
    out.push({ at, frac: (at - a) / width });
  }
  return out;
}
