// Stable colours: a fixed one per log level and span status, and a hashed palette entry
// per service or series name so the same service has the same colour on every page.
const PALETTE = ["#3b6fd8", "#16a34a", "#d97706", "#9333ea", "#0891b2", "#db2777", "#65a30d", "#ea580c", "#4f46e5", "#0d9488", "#b45309", "#7c3aed"];

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
  return PALETTE[(h >>> 0) % PALETTE.length];
}
