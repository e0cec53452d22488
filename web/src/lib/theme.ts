// Light and dark themes: CSS variables switched by `data-theme` on <html>, following the
// system until the user picks one (kept in localStorage).
import { signal } from "@preact/signals";

export type Theme = "light" | "dark";
const stored = typeof localStorage !== "undefined" ? (localStorage.getItem("hexcovery-theme") as Theme | null) : null;
const system = (): Theme => (typeof matchMedia !== "undefined" && matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light");

export const theme = signal<Theme>(stored ?? system());

export function applyTheme() {
  document.documentElement.dataset.theme = theme.value;
}

export function toggleTheme() {
  theme.value = theme.value === "dark" ? "light" : "dark";
  localStorage.setItem("hexcovery-theme", theme.value);
  applyTheme();
}

/** The current value of a CSS variable (for canvas drawing, which cannot read them). */
export function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || "#888";
}
