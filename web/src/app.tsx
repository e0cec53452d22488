// The application shell: restores the session, matches the URL against the page table,
// loads the page's module on demand, and guards signed-in pages.
import { useEffect, useState } from "preact/hooks";
import type { FunctionComponent } from "preact";
import { Layout } from "./components/Layout";
import { ErrorNote, Loading } from "./components/ui";
import { location, match, navigate } from "./lib/router";
import { sessionState } from "./lib/session";
import { syncAutoRefresh } from "./lib/time";
import { ROUTES, type PageProps, type RouteDef } from "./routes";

const loaded = new Map<RouteDef, FunctionComponent<PageProps>>();

function resolve(path: string): { route: RouteDef; params: Record<string, string> } | null {
  for (const route of ROUTES) {
    const params = match(route.pattern, path);
    if (params) return { route, params };
  }
  return null;
}

function NotFound() {
  return (
    <div class="narrow">
      <h1>Page not found</h1>
      <p>
        There is no page at <code>{location.value.path}</code>. <a href="/">Go to the overview</a>.
      </p>
    </div>
  );
}

export function App() {
  const path = location.value.path;
  const found = resolve(path);
  const [, setVersion] = useState(0);
  // A page module that failed to load (e.g. the server was upgraded and its old chunks
  // are gone), remembered for that route only.
  const [loadError, setLoadError] = useState<{ route: RouteDef; error: unknown } | null>(null);
  const state = sessionState.value;
  // Auto refresh follows the URL on every page, so leaving a page that had it on stops it.
  const refresh = location.value.query.get("refresh");
  useEffect(() => syncAutoRefresh(refresh), [refresh]);

  const page = found ? loaded.get(found.route) : undefined;
  useEffect(() => {
    if (!found || page) return;
    let live = true;
    found.route.load().then(
      (m) => {
        loaded.set(found.route, m.default);
        if (live) setVersion((v) => v + 1);
      },
      (error) => live && setLoadError({ route: found.route, error }),
    );
    return () => {
      live = false;
    };
  }, [found?.route, page]);

  useEffect(() => {
    if (state === "signed-out" && found && !found.route.public) {
      const here = location.value.path + location.value.search;
      navigate(here === "/" ? "/login" : `/login?next=${encodeURIComponent(here)}`, { replace: true });
    }
  }, [state, found?.route]);

  if (!found) return state === "signed-in" ? <Layout timePicker={false}><NotFound /></Layout> : <NotFound />;
  if (loadError && loadError.route === found.route) {
    return (
      <div class="narrow">
        <ErrorNote error={loadError.error} />
        <p>
          This page's code could not be loaded; the server may have been updated. <a href={location.value.path + location.value.search}>Reload the page</a>.
        </p>
      </div>
    );
  }
  if (state === "unknown") return <Loading label="Signing in" />;
  if (!found.route.public && state !== "signed-in") return <Loading label="Redirecting to sign in" />;
  const Page = page;
  // Keyed by route and captures: /traces/A → /traces/B is a new page, not A's state.
  const body = Page ? <Page key={`${found.route.pattern} ${JSON.stringify(found.params)}`} params={found.params} /> : <Loading />;
  if (found.route.public) return body;
  return <Layout timePicker={!!found.route.timePicker}>{body}</Layout>;
}
