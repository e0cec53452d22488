// The API client: JSON over fetch with the in-memory access token, one refresh at a time
// across tabs, and typed errors carrying the server's code, message and position fields.
import { accessToken, onSessionLost, refreshSession } from "./session";

/** An error answer of the API: `{"error":{"code","message",...}}` plus the HTTP status. */
export class ApiError extends Error {
  status: number;
  code: string;
  /** Extra fields of the error object: `field`, `line`, `column`, `hint`, ... */
  detail: Record<string, unknown>;
  constructor(status: number, code: string, message: string, detail: Record<string, unknown> = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.detail = detail;
  }
}

export interface RequestOptions {
  /** Extra request headers (e.g. `If-Match`). */
  headers?: Record<string, string>;
  /** Skip the access token and the refresh-on-401 dance (login, signup, refresh). */
  anonymous?: boolean;
  signal?: AbortSignal;
}

async function send(method: string, path: string, body: unknown, opts: RequestOptions): Promise<Response> {
  const headers: Record<string, string> = { Accept: "application/json", ...opts.headers };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const token = accessToken.value;
  if (token && !opts.anonymous) headers.Authorization = `Bearer ${token}`;
  return fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
    signal: opts.signal,
  });
}

async function errorOf(res: Response): Promise<ApiError> {
  let code = `http_${res.status}`;
  let message = res.statusText || `HTTP ${res.status}`;
  let detail: Record<string, unknown> = {};
  try {
    const json = await res.json();
    if (json && typeof json.error === "object") {
      const { code: c, message: m, ...rest } = json.error;
      code = c ?? code;
      message = m ?? message;
      detail = rest;
    }
  } catch {
    /* not JSON: keep the status line */
  }
  return new ApiError(res.status, code, message, detail);
}

/** Calls the API; answers the parsed JSON body (or `undefined` for 204). A 401 refreshes
 * the session once and retries; if that fails the user is sent to the login page. */
export async function api<T = unknown>(method: string, path: string, body?: unknown, opts: RequestOptions = {}): Promise<T> {
  let res = await send(method, path, body, opts);
  if (res.status === 401 && !opts.anonymous) res = await afterUnauthorized(res, () => send(method, path, body, opts));
  if (!res.ok) throw await errorOf(res);
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

/** A 401: refresh once and retry. A refused refresh ends the session (to the login page,
 * returning here); a refresh that got no answer keeps the page and reports the outage. */
async function afterUnauthorized(res: Response, retry: () => Promise<Response>): Promise<Response> {
  const outcome = await refreshSession(accessToken.value);
  if (outcome === "unavailable") throw new ApiError(503, "server_unavailable", "the server did not answer the session refresh; try again in a moment");
  const again = outcome === "ok" ? await retry() : res;
  if (again.status === 401) {
    onSessionLost();
    throw await errorOf(again);
  }
  return again;
}

/** Like [`api`] but also answers the response's ETag (for If-Match edits). */
export async function apiWithEtag<T>(path: string): Promise<{ body: T; etag: string | null }> {
  let res = await send("GET", path, undefined, {});
  if (res.status === 401) res = await afterUnauthorized(res, () => send("GET", path, undefined, {}));
  if (!res.ok) throw await errorOf(res);
  return { body: (await res.json()) as T, etag: res.headers.get("ETag") };
}

export const get = <T>(path: string, opts?: RequestOptions) => api<T>("GET", path, undefined, opts);
export const post = <T>(path: string, body?: unknown, opts?: RequestOptions) => api<T>("POST", path, body ?? {}, opts);
export const put = <T>(path: string, body: unknown, opts?: RequestOptions) => api<T>("PUT", path, body, opts);
export const patch = <T>(path: string, body: unknown, opts?: RequestOptions) => api<T>("PATCH", path, body, opts);
export const del = <T = void>(path: string, opts?: RequestOptions) => api<T>("DELETE", path, undefined, opts);

/** Builds `path?k=v&...`, skipping empty values; arrays repeat the key. */
export function withQuery(path: string, params: Record<string, string | number | boolean | undefined | null | string[]>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === "") continue;
    if (Array.isArray(v)) v.forEach((x) => q.append(k, x));
    else q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

// ---- OQL --------------------------------------------------------------------------------

export interface OqlColumn {
  name: string;
  type: string;
}
export interface OqlResult {
  columns: OqlColumn[];
  rows: unknown[][];
  truncated: boolean;
  stats: { rows_scanned?: number; bytes_scanned?: number; elapsed_ms?: number; bucket?: string; [k: string]: unknown };
}
export interface OqlRequest {
  from?: string;
  to?: string;
  params?: Record<string, unknown>;
  signal?: AbortSignal;
}

/** Runs an OQL query (`POST /api/v1/dsl`). */
export function oql(query: string, req: OqlRequest = {}): Promise<OqlResult> {
  const { signal, ...rest } = req;
  return post<OqlResult>("/api/v1/dsl", { query, ...rest }, { signal });
}

/** The rows of a result as objects keyed by column name. */
export function records(result: OqlResult): Record<string, unknown>[] {
  return result.rows.map((row) => Object.fromEntries(result.columns.map((c, i) => [c.name, row[i]])));
}
