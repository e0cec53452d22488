// A small router where the URL is the state: `location` is a signal of the current path
// and query string, pages read their state from it and write it back with `setParams`, so
// every view can be bookmarked, shared and restored with Back.
import { signal } from "@preact/signals";
import type { ComponentChildren } from "preact";

export interface Loc {
  path: string;
  /** The raw query string, with its leading `?` (or empty). */
  search: string;
  query: URLSearchParams;
}

function read(): Loc {
  const { pathname, search } = window.location;
  return { path: pathname, search, query: new URLSearchParams(search) };
}

export const location = signal<Loc>(typeof window === "undefined" ? { path: "/", search: "", query: new URLSearchParams() } : read());

if (typeof window !== "undefined") {
  window.addEventListener("popstate", () => {
    location.value = read();
  });
}

/** Goes to `url` (path plus optional query); `replace` rewrites the current history entry. */
export function navigate(url: string, opts: { replace?: boolean } = {}) {
  const current = window.location.pathname + window.location.search;
  if (url !== current) {
    if (opts.replace) history.replaceState(null, "", url);
    else history.pushState(null, "", url);
  }
  location.value = read();
  if (!opts.replace) window.scrollTo(0, 0);
}

/** Changes some query parameters of the current URL (`null`/`""` removes one). */
export function setParams(changes: Record<string, string | number | null | undefined>, opts: { replace?: boolean } = {}) {
  const q = new URLSearchParams(location.value.search);
  for (const [k, v] of Object.entries(changes)) {
    if (v === null || v === undefined || v === "") q.delete(k);
    else q.set(k, String(v));
  }
  const s = q.toString();
  navigate(location.value.path + (s ? `?${s}` : ""), opts);
}

/** One query parameter of the current URL. */
export const param = (name: string): string | null => location.value.query.get(name);

/** `decodeURIComponent` that answers null for a malformed escape (`%E0%A4%A`). */
function decode(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

/** Matches `pattern` (`/traces/:id`, `/settings/*`) against `path`; answers the captures.
 * A path with a malformed escape matches nothing (the page says "not found"). */
export function match(pattern: string, path: string): Record<string, string> | null {
  const p = pattern.split("/").filter(Boolean);
  const s = path.split("/").filter(Boolean);
  const out: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    if (p[i] === "*") {
      const rest = s.slice(i).map(decode);
      if (rest.some((x) => x === null)) return null;
      out["*"] = rest.join("/");
      return out;
    }
    if (i >= s.length) return null;
    if (p[i].startsWith(":")) {
      const value = decode(s[i]);
      if (value === null) return null;
      out[p[i].slice(1)] = value;
    } else if (p[i] !== s[i]) return null;
  }
  return p.length === s.length ? out : null;
}

interface AnchorProps {
  href: string;
  children?: ComponentChildren;
  class?: string;
  title?: string;
  onClick?: (e: MouseEvent) => void;
  "aria-label"?: string;
  "aria-current"?: "page" | "true";
}

/** An `<a>` that navigates without reloading (modified clicks still open new tabs). */
export function Link({ href, onClick, ...rest }: AnchorProps) {
  return (
    <a
      href={href}
      onClick={(e) => {
        if (onClick) onClick(e);
        if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
        e.preventDefault();
        navigate(href);
      }}
      {...rest}
    />
  );
}
