// Data loading for pages: run an async function when its inputs change, keep the last
// answer while the next loads, and drop answers that arrive after newer requests.
import { useEffect, useRef, useState } from "preact/hooks";

export interface Loaded<T> {
  data?: T;
  error?: Error;
  loading: boolean;
  reload: () => void;
}

export function useLoad<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: Error; loading: boolean }>({ loading: true });
  const [n, setN] = useState(0);
  const latest = useRef(0);
  useEffect(() => {
    const id = ++latest.current;
    const abort = new AbortController();
    setState((s) => ({ ...s, loading: true }));
    load(abort.signal).then(
      (data) => id === latest.current && setState({ data, loading: false }),
      (error: Error) => {
        if (id === latest.current && error?.name !== "AbortError") setState((s) => ({ data: s.data, error, loading: false }));
      },
    );
    return () => abort.abort();
  }, [...deps, n]);
  return { ...state, reload: () => setN((x) => x + 1) };
}

/** Sets the document title for the page. */
export function useTitle(title: string) {
  useEffect(() => {
    document.title = `${title} · Hexcovery`;
  }, [title]);
}
