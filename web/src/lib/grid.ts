// Dashboard grid layout: panels as boxes on the server's 24-column grid, and the edits edit
// mode makes to them (place, step-move, resize, add, remove), each followed by pushing
// overlapped panels down and compacting upwards so the grid never has overlaps or holes.

/** The grid's width in columns (the server's `GRID_COLUMNS`). */
export const COLUMNS = 24;
/** Tallest panel in rows (the server's `MAX_PANEL_HEIGHT`). */
export const MAX_HEIGHT = 100;

export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}
export interface Item extends Box {
  id: string;
}

export type Direction = "left" | "right" | "up" | "down";
export type Resize = "wider" | "narrower" | "taller" | "shorter";

/** Whether two boxes share any cell. */
export function collides(a: Box, b: Box): boolean {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

const overlapsColumns = (a: Box, b: Box) => a.x < b.x + b.w && b.x < a.x + a.w;
const overlapsRows = (a: Box, b: Box) => a.y < b.y + b.h && b.y < a.y + a.h;

/** A box made valid: whole numbers, 1..24 wide inside the grid, 1..100 tall, y ≥ 0. */
export function clampBox(b: Box): Box {
  const w = Math.min(COLUMNS, Math.max(1, Math.round(b.w)));
  const h = Math.min(MAX_HEIGHT, Math.max(1, Math.round(b.h)));
  const x = Math.min(COLUMNS - w, Math.max(0, Math.round(b.x)));
  const y = Math.max(0, Math.round(b.y));
  return { x, y, w, h };
}

/** The row below the lowest panel. */
export function bottom(items: Box[]): number {
  return items.reduce((m, b) => Math.max(m, b.y + b.h), 0);
}

/** Moves every panel up as far as it goes (top to bottom, left to right), and down past any
 * panel it overlaps. Answers the items in their input order. */
export function compact<T extends Item>(items: T[]): T[] {
  const order = items.map((item, i) => ({ item, i })).sort((a, b) => a.item.y - b.item.y || a.item.x - b.item.x || a.i - b.i);
  const placed: T[] = [];
  const out: T[] = new Array(items.length);
  for (const { item, i } of order) {
    const next = { ...item };
    while (next.y > 0 && !placed.some((p) => collides(p, { ...next, y: next.y - 1 }))) next.y -= 1;
    for (let hit = placed.find((p) => collides(p, next)); hit; hit = placed.find((p) => collides(p, next))) next.y = hit.y + hit.h;
    placed.push(next);
    out[i] = next;
  }
  return out;
}

/** Pushes every panel that overlaps `moved` down below it, and so on for those. */
function pushDown<T extends Item>(items: T[], movedId: string): T[] {
  const out = items.map((i) => ({ ...i }));
  const queue = [movedId];
  // Panels only ever move down, so this ends; the guard is for safety on odd input.
  for (let guard = 0; queue.length && guard < 10_000; guard++) {
    const id = queue.shift()!;
    const mover = out.find((i) => i.id === id)!;
    const hits = out.filter((o) => o.id !== id && collides(o, mover)).sort((a, b) => a.y - b.y);
    for (const hit of hits) {
      hit.y = mover.y + mover.h;
      queue.push(hit.id);
    }
  }
  return out;
}

function withBox<T extends Item>(items: T[], id: string, box: Box): T[] {
  return items.map((i) => (i.id === id ? { ...i, ...box } : i));
}

/** Puts panel `id` at `box` (made valid), pushes what it overlaps down, and compacts. */
export function place<T extends Item>(items: T[], id: string, box: Box): T[] {
  if (!items.some((i) => i.id === id)) return items;
  return compact(pushDown(withBox(items, id, clampBox(box)), id));
}

/** One step of keyboard moving. Left/right swap places with a panel touching that side
 * (or move one column into free space); up/down swap with the nearest panel above/below
 * in the same columns. Answers the items unchanged when there is nowhere to go. */
export function step<T extends Item>(items: T[], id: string, dir: Direction): T[] {
  const me = items.find((i) => i.id === id);
  if (!me) return items;
  const others = items.filter((i) => i.id !== id);
  if (dir === "left" || dir === "right") {
    const neighbour = others
      .filter((o) => overlapsRows(o, me) && (dir === "right" ? o.x === me.x + me.w : o.x + o.w === me.x))
      .sort((a, b) => a.y - b.y)[0];
    if (neighbour) {
      // Swap the two: the pair keeps the span they covered together.
      const left = dir === "right" ? me.x : neighbour.x;
      const [first, second] = dir === "right" ? [neighbour, me] : [me, neighbour];
      let next = withBox(items, first.id, { ...first, x: left });
      next = withBox(next, second.id, { ...second, x: left + first.w });
      next = pushDown(next, first.id);
      next = pushDown(next, second.id);
      return compact(next);
    }
    const x = me.x + (dir === "right" ? 1 : -1);
    if (x < 0 || x + me.w > COLUMNS) return items;
    return place(items, id, { ...me, x });
  }
  if (dir === "up") {
    const above = others.filter((o) => overlapsColumns(o, me) && o.y + o.h <= me.y).sort((a, b) => b.y + b.h - (a.y + a.h) || b.y - a.y)[0];
    if (!above) return items;
    return place(items, id, { ...me, y: above.y });
  }
  const below = others.filter((o) => overlapsColumns(o, me) && o.y >= me.y + me.h).sort((a, b) => a.y - b.y || b.y + b.h - (a.y + a.h))[0];
  if (!below) return items;
  // Land under it: compaction then lifts it into the room this panel leaves.
  return place(items, id, { ...me, y: below.y + below.h });
}

/** Grows or shrinks panel `id` by one column or row (widening at the right edge grows
 * leftwards); answers the items unchanged at the limits. */
export function resize<T extends Item>(items: T[], id: string, change: Resize): T[] {
  const me = items.find((i) => i.id === id);
  if (!me) return items;
  let box: Box = { x: me.x, y: me.y, w: me.w, h: me.h };
  if (change === "wider") {
    if (me.w >= COLUMNS) return items;
    box = me.x + me.w < COLUMNS ? { ...box, w: me.w + 1 } : { ...box, x: me.x - 1, w: me.w + 1 };
  } else if (change === "narrower") {
    if (me.w <= 1) return items;
    box = { ...box, w: me.w - 1 };
  } else if (change === "taller") {
    if (me.h >= MAX_HEIGHT) return items;
    box = { ...box, h: me.h + 1 };
  } else {
    if (me.h <= 1) return items;
    box = { ...box, h: me.h - 1 };
  }
  return place(items, id, box);
}

/** The first free spot (top to bottom, left to right) for a `w`×`h` panel. */
export function firstFit(items: Box[], w: number, h: number): { x: number; y: number } {
  const width = Math.min(COLUMNS, Math.max(1, w));
  const end = bottom(items);
  for (let y = 0; y <= end; y++) {
    for (let x = 0; x + width <= COLUMNS; x++) {
      if (!items.some((b) => collides(b, { x, y, w: width, h }))) return { x, y };
    }
  }
  return { x: 0, y: end };
}

/** Adds `item` at the first free spot of its size. */
export function add<T extends Item>(items: T[], item: T): T[] {
  const box = clampBox(item);
  const at = firstFit(items, box.w, box.h);
  return compact([...items, { ...item, ...box, ...at }]);
}

/** Removes panel `id` and closes the gap. */
export function remove<T extends Item>(items: T[], id: string): T[] {
  return compact(items.filter((i) => i.id !== id));
}

/** Whether two layouts put every panel in the same place. */
export function sameLayout(a: Item[], b: Item[]): boolean {
  return a.length === b.length && a.every((x, i) => x.id === b[i].id && x.x === b[i].x && x.y === b[i].y && x.w === b[i].w && x.h === b[i].h);
}

/** Whether any two panels overlap. */
export function hasOverlap(items: Box[]): boolean {
  for (let i = 0; i < items.length; i++) for (let j = i + 1; j < items.length; j++) if (collides(items[i], items[j])) return true;
  return false;
}
