// A short, human name for a session's browser or client from its User-Agent header.

/** "Chrome on Linux", "Firefox on macOS", "curl"; the raw text when nothing matches. */
export function describeAgent(ua: string | null | undefined): string {
  if (!ua) return "Unknown client";
  const os = /Windows/.test(ua)
    ? "Windows"
    : /iPhone|iPad|iOS/.test(ua)
      ? "iOS"
      : /Android/.test(ua)
        ? "Android"
        : /Mac OS X|Macintosh/.test(ua)
          ? "macOS"
          : /CrOS/.test(ua)
            ? "ChromeOS"
            : /Linux/.test(ua)
              ? "Linux"
              : null;
  const browser = /Edg\//.test(ua)
    ? "Edge"
    : /OPR\//.test(ua)
      ? "Opera"
      : /HeadlessChrome/.test(ua)
        ? "Headless Chrome"
        : /Chrom(e|ium)\//.test(ua)
          ? "Chrome"
          : /Firefox\//.test(ua)
            ? "Firefox"
            : /Safari\//.test(ua)
              ? "Safari"
              : null;
  if (browser) return os ? `${browser} on ${os}` : browser;
  const tool = /^([A-Za-z][\w.-]*)\/[\d.]+/.exec(ua);
  if (tool) return tool[1];
  return ua.length > 60 ? `${ua.slice(0, 57)}…` : ua;
}
