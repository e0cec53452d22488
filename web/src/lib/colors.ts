// Stable colours: a fixed one per log level and span status, and a hashed palette entry
// per service or series name so the same service has the same colour on every page.
// Twelve hues far apart, none of them the red that marks errors.
const PALETTE = ["#3b6fd8", "#e07b00", "#8b5cf6", "#0d9488", "#db2777", "#65a30d", "#0891b2", "#b45309", "#6366f1", "#16a34a", "#c026d3", "#475569"];

export const LEVEL_COLORS: Record<string, string> = {
  fatal: "#7f1d1d",
  error: "#dc2626",
  warn: "#d97706",
  info: "#3b6fd8",
  debug: "#6b7280",
  trace: "#9ca3af",
};

export function colorFor(name: string): string {
  if (LEVEL_COLORS[name]) return LEVEL_COLORS[name];
  let h = 2166136261;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619);
  // FNV's low bits are weak: mix them (murmur3's finaliser) before taking the remainder.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return PALETTE[(h >>> 0) % PALETTE.length];
}
