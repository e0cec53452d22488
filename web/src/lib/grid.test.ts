// Unit tests of the dashboard grid: collisions, compaction, keyboard moves and resizes,
// first-fit placement — the layout rules edit mode relies on.
import { describe, expect, it } from "vitest";
import { add, clampBox, collides, compact, firstFit, hasOverlap, place, remove, resize, sameLayout, step, type Item } from "./grid";

const it_ = (id: string, x: number, y: number, w: number, h: number): Item => ({ id, x, y, w, h });
const pos = (items: Item[]) => Object.fromEntries(items.map((i) => [i.id, [i.x, i.y, i.w, i.h]]));

describe("collides", () => {
  it("is true only when cells are shared", () => {
    expect(collides(it_("a", 0, 0, 12, 4), it_("b", 12, 0, 12, 4))).toBe(false);
    expect(collides(it_("a", 0, 0, 12, 4), it_("b", 11, 0, 12, 4))).toBe(true);
    expect(collides(it_("a", 0, 0, 12, 4), it_("b", 0, 4, 12, 4))).toBe(false);
    expect(collides(it_("a", 0, 0, 12, 4), it_("b", 5, 3, 2, 2))).toBe(true);
  });
});

describe("clampBox", () => {
  it("keeps boxes inside the 24 columns and the height limits", () => {
    expect(clampBox({ x: 20, y: -3, w: 8, h: 0 })).toEqual({ x: 16, y: 0, w: 8, h: 1 });
    expect(clampBox({ x: 0, y: 2.4, w: 40, h: 500 })).toEqual({ x: 0, y: 2, w: 24, h: 100 });
  });
});

describe("compact", () => {
  it("lifts panels into holes and keeps input order", () => {
    const out = compact([it_("b", 0, 10, 12, 4), it_("a", 12, 3, 12, 4), it_("c", 0, 20, 24, 2)]);
    expect(out.map((i) => i.id)).toEqual(["b", "a", "c"]);
    expect(pos(out)).toEqual({ b: [0, 0, 12, 4], a: [12, 0, 12, 4], c: [0, 4, 24, 2] });
  });
  it("separates overlapping panels", () => {
    const out = compact([it_("a", 0, 0, 12, 4), it_("b", 6, 2, 12, 4)]);
    expect(hasOverlap(out)).toBe(false);
    expect(pos(out).b).toEqual([6, 4, 12, 4]);
  });
});

describe("place", () => {
  it("pushes what it lands on down, in a chain", () => {
    const items = [it_("a", 0, 0, 24, 4), it_("b", 0, 4, 24, 4), it_("c", 0, 8, 12, 4)];
    const out = place(items, "c", { x: 0, y: 0, w: 12, h: 4 });
    expect(pos(out)).toEqual({ c: [0, 0, 12, 4], a: [0, 4, 24, 4], b: [0, 8, 24, 4] });
    expect(hasOverlap(out)).toBe(false);
  });
  it("clamps a box dragged off the grid", () => {
    const out = place([it_("a", 0, 0, 12, 4)], "a", { x: 30, y: -5, w: 12, h: 4 });
    expect(pos(out).a).toEqual([12, 0, 12, 4]);
  });
});

describe("step", () => {
  const row = [it_("a", 0, 0, 8, 4), it_("b", 8, 0, 16, 4)];
  it("swaps with the touching neighbour left or right", () => {
    const right = step(row, "a", "right");
    expect(pos(right)).toEqual({ a: [16, 0, 8, 4], b: [0, 0, 16, 4] });
    expect(pos(step(right, "a", "left"))).toEqual(pos(row));
  });
  it("moves one column into free space and stops at the edges", () => {
    const lone = [it_("a", 0, 0, 8, 4)];
    expect(pos(step(lone, "a", "right")).a).toEqual([1, 0, 8, 4]);
    expect(step(lone, "a", "left")).toBe(lone);
    const edge = [it_("a", 16, 0, 8, 4)];
    expect(step(edge, "a", "right")).toBe(edge);
  });
  it("swaps with the panel above or below in the same columns", () => {
    const stack = [it_("a", 0, 0, 12, 4), it_("b", 0, 4, 12, 8), it_("side", 12, 0, 12, 6)];
    const up = step(stack, "b", "up");
    expect(pos(up)).toEqual({ a: [0, 8, 12, 4], b: [0, 0, 12, 8], side: [12, 0, 12, 6] });
    const down = step(stack, "a", "down");
    expect(pos(down)).toEqual(pos(up));
    expect(hasOverlap(down)).toBe(false);
  });
  it("answers the same layout when there is nowhere to go", () => {
    const stack = [it_("a", 0, 0, 12, 4), it_("b", 0, 4, 12, 4)];
    expect(step(stack, "a", "up")).toBe(stack);
    expect(step(stack, "b", "down")).toBe(stack);
    expect(step(stack, "zz", "down")).toBe(stack);
  });
});

describe("resize", () => {
  it("grows and shrinks by one column or row, pushing others down", () => {
    const items = [it_("a", 0, 0, 12, 4), it_("b", 12, 0, 12, 4)];
    const wider = resize(items, "a", "wider");
    expect(pos(wider)).toEqual({ a: [0, 0, 13, 4], b: [12, 4, 12, 4] });
    expect(pos(resize(items, "a", "narrower")).a).toEqual([0, 0, 11, 4]);
    expect(pos(resize(items, "a", "taller")).a).toEqual([0, 0, 12, 5]);
    expect(pos(resize(items, "a", "shorter")).a).toEqual([0, 0, 12, 3]);
  });
  it("widens leftwards at the right edge and stops at the limits", () => {
    expect(pos(resize([it_("a", 12, 0, 12, 4)], "a", "wider")).a).toEqual([11, 0, 13, 4]);
    const full = [it_("a", 0, 0, 24, 1)];
    expect(resize(full, "a", "wider")).toBe(full);
    expect(resize(full, "a", "shorter")).toBe(full);
    const thin = [it_("a", 0, 0, 1, 100)];
    expect(resize(thin, "a", "narrower")).toBe(thin);
    expect(resize(thin, "a", "taller")).toBe(thin);
  });
});

describe("firstFit, add and remove", () => {
  it("fills the first hole big enough", () => {
    const items = [it_("a", 0, 0, 12, 4), it_("b", 0, 4, 24, 4)];
    expect(firstFit(items, 12, 4)).toEqual({ x: 12, y: 0 });
    expect(firstFit(items, 24, 2)).toEqual({ x: 0, y: 8 });
    expect(firstFit([], 12, 8)).toEqual({ x: 0, y: 0 });
  });
  it("adds at the first fit and removes closing the gap", () => {
    const items = add([it_("a", 0, 0, 12, 4), it_("b", 0, 4, 24, 4)], it_("c", 0, 0, 12, 4));
    expect(pos(items).c).toEqual([12, 0, 12, 4]);
    expect(pos(remove(items, "a"))).toEqual({ b: [0, 4, 24, 4], c: [12, 0, 12, 4] });
    expect(pos(remove([it_("a", 0, 0, 24, 4), it_("b", 0, 4, 24, 4)], "a")).b).toEqual([0, 0, 24, 4]);
  });
  it("compares layouts", () => {
    const a = [it_("a", 0, 0, 12, 4)];
    expect(sameLayout(a, [it_("a", 0, 0, 12, 4)])).toBe(true);
    expect(sameLayout(a, [it_("a", 0, 1, 12, 4)])).toBe(false);
  });
});
