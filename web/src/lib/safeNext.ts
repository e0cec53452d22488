// Where the login page may send a user back to: a path of this origin only.
/** Only paths of this origin may be returned to: `//evil.example`, `/\\evil.example` and
 * `https://evil.example` resolve elsewhere and give the overview instead. */
export function safeNext(next: string | null, origin: string = window.location.origin): string {
  if (!next || !next.startsWith("/")) return "/";
  let url: URL;
  try {
    url = new URL(next, origin);
  } catch {
    return "/";
  }
  if (url.origin !== origin || url.pathname.startsWith("/login")) return "/";
  return url.pathname + url.search + url.hash;
}
