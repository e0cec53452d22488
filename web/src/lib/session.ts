// The signed-in session. The access token lives in memory only; the refresh token lives in
// the server's httpOnly SameSite=Strict cookie, so a reload restores the session by
// refreshing. Refresh tokens rotate on every use and a reused one revokes the session, so
// refreshes are serialised across tabs with the Web Locks API: the second tab to refresh
// sends the cookie the first one got.
import { computed, signal } from "@preact/signals";
import { navigate, location } from "./router";

export type Role = "viewer" | "editor" | "admin";
export interface User {
  id: string;
  org_id: string;
  email: string;
  name: string;
  role: Role;
  created_at: string;
  updated_at: string;
  totp_enabled?: boolean;
}
export interface Org {
  id: string;
  name: string;
  slug: string;
  email: string;
  retention_days: number;
  error_rate_thresholds: { warning: number; critical: number };
  ai_provider?: { provider: string; model: string; base_url?: string | null } | null;
  created_at: string;
  updated_at: string;
}
interface TokenAnswer {
  access_token: string;
  expires_in: number;
  user: User;
  org: Org;
}

export const accessToken = signal<string | null>(null);
export const currentUser = signal<User | null>(null);
export const currentOrg = signal<Org | null>(null);
/** `unknown` until the boot-time refresh has answered. */
export const sessionState = signal<"unknown" | "signed-in" | "signed-out">("unknown");

const RANK: Record<Role, number> = { viewer: 0, editor: 1, admin: 2 };
/** Whether the signed-in user has at least `role`. The server enforces the same rule. */
export const hasRole = (role: Role) => RANK[currentUser.value?.role ?? "viewer"] >= RANK[role] && currentUser.value !== null;
export const canEdit = computed(() => hasRole("editor"));
export const isAdmin = computed(() => hasRole("admin"));

const channel = typeof BroadcastChannel !== "undefined" ? new BroadcastChannel("hexcovery-session") : null;
channel?.addEventListener("message", (e) => {
  if (e.data?.type === "signed-out" && sessionState.value === "signed-in") {
    clear();
    goToLogin(false);
  }
});

let refreshTimer: ReturnType<typeof setTimeout> | undefined;

function adopt(answer: TokenAnswer) {
  accessToken.value = answer.access_token;
  currentUser.value = answer.user;
  currentOrg.value = answer.org;
  sessionState.value = "signed-in";
  clearTimeout(refreshTimer);
  // Refresh a minute before the access token expires so requests rarely meet a 401.
  const ms = Math.max(10, answer.expires_in - 60) * 1000;
  refreshTimer = setTimeout(() => void refreshSession(answer.access_token), ms);
}

function clear() {
  clearTimeout(refreshTimer);
  accessToken.value = null;
  currentUser.value = null;
  currentOrg.value = null;
  sessionState.value = "signed-out";
}

const LEASE_KEY = "hexcovery-refresh-lease";
const LEASE_MS = 5000;
const tabId = Math.random().toString(36).slice(2);

/** Without Web Locks (plain http:// on a host other than localhost is not a secure
 * context), a lease in localStorage that tabs wait on: written, read back after a moment,
 * and honoured until it expires. Not atomic like a lock, but it keeps tabs that boot
 * together from presenting the same refresh token at once. */
async function withLease<T>(f: () => Promise<T>): Promise<T> {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const read = (): { tab: string; until: number } | null => {
    try {
      return JSON.parse(localStorage.getItem(LEASE_KEY) ?? "null");
    } catch {
      return null;
    }
  };
  for (let i = 0; i < 200; i++) {
    const held = read();
    if (!held || held.until < Date.now() || held.tab === tabId) {
      localStorage.setItem(LEASE_KEY, JSON.stringify({ tab: tabId, until: Date.now() + LEASE_MS }));
      await sleep(30 + Math.random() * 40);
      if (read()?.tab === tabId) {
        try {
          return await f();
        } finally {
          // Only our own lease is given back (it may have expired and passed on).
          if (read()?.tab === tabId) localStorage.removeItem(LEASE_KEY);
        }
      }
    }
    await sleep(50 + Math.random() * 50);
  }
  return f();
}

async function withRefreshLock<T>(f: () => Promise<T>): Promise<T> {
  if (typeof navigator !== "undefined" && navigator.locks) {
    return navigator.locks.request("hexcovery-refresh", f) as Promise<T>;
  }
  if (typeof localStorage !== "undefined") return withLease(f);
  return f();
}

/** What a refresh came to: a new token, a refused cookie (the session is over), or no
 * answer (network down, server error: try again later, keep the page). */
export type RefreshOutcome = "ok" | "refused" | "unavailable";

let inFlight: Promise<RefreshOutcome> | null = null;

/** Refreshes the session with the cookie. `sentWith` is the token the failed request
 * carried: when another call already replaced it, no second refresh is made. */
export function refreshSession(sentWith: string | null): Promise<RefreshOutcome> {
  if (accessToken.value && accessToken.value !== sentWith) return Promise.resolve("ok");
  if (inFlight) return inFlight;
  inFlight = withRefreshLock(async (): Promise<RefreshOutcome> => {
    try {
      // An empty body makes the server read the cookie.
      const res = await fetch("/api/v1/auth/refresh", { method: "POST", credentials: "same-origin" });
      if (res.status === 401) return "refused";
      if (!res.ok) return "unavailable";
      adopt((await res.json()) as TokenAnswer);
      return "ok";
    } catch {
      return "unavailable";
    }
  }).finally(() => {
    inFlight = null;
  });
  return inFlight;
}

/** Boot: restore the session from the cookie, if there is one. */
export async function restoreSession(): Promise<void> {
  const outcome = await refreshSession(null);
  // A sign-in that finished while this refresh waited for the lock wins.
  if (outcome !== "ok" && sessionState.value === "unknown") sessionState.value = "signed-out";
}

/** Why a sign-in failed: a server error, or `totp_required` asking for the Code field. */
export class SignInError extends Error {
  code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

async function authPost(path: string, body: unknown): Promise<TokenAnswer> {
  const res = await fetch(path, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify(body),
  });
  const json = await res.json().catch(() => ({}));
  if (!res.ok) {
    throw new SignInError(json?.error?.code ?? `http_${res.status}`, json?.error?.message ?? res.statusText);
  }
  return json as TokenAnswer;
}

export async function signIn(email: string, password: string, totpCode?: string): Promise<void> {
  const body: Record<string, string> = { email, password };
  if (totpCode) body.totp_code = totpCode;
  adopt(await authPost("/api/v1/auth/login", body));
}

export async function signUp(fields: { org_name: string; org_slug: string; email: string; password: string; name: string }) {
  adopt(await authPost("/api/v1/auth/signup", fields));
}

export async function acceptInvite(token: string, name: string, password: string) {
  const res = await fetch("/api/v1/invites/accept", {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ token, name, password }),
  });
  const json = await res.json().catch(() => ({}));
  if (!res.ok) throw new SignInError(json?.error?.code ?? `http_${res.status}`, json?.error?.message ?? res.statusText);
  if (json.access_token) adopt(json as TokenAnswer);
  return json;
}

export async function signOut(): Promise<void> {
  const send = (token: string | null) =>
    fetch("/api/v1/auth/logout", {
      method: "POST",
      credentials: "same-origin",
      headers: token ? { Authorization: `Bearer ${token}` } : {},
    }).catch(() => null);
  // An expired access token would leave the session (and its cookie) alive: refresh once
  // and sign out with the new token.
  let res = await send(accessToken.value);
  if (res?.status === 401 && (await refreshSession(accessToken.value)) === "ok") res = await send(accessToken.value);
  clear();
  channel?.postMessage({ type: "signed-out" });
  navigate("/login", { replace: true });
}

/** Updates the cached org after a settings change. */
export function setOrg(org: Org) {
  currentOrg.value = org;
}

function goToLogin(withReturn: boolean) {
  const here = location.value.path + location.value.search;
  const next = withReturn && !here.startsWith("/login") ? `?next=${encodeURIComponent(here)}` : "";
  navigate(`/login${next}`, { replace: true });
}

/** A request met a 401 that no refresh could cure: back to the login page, returning here. */
export function onSessionLost() {
  if (sessionState.value === "signed-out" && location.value.path === "/login") return;
  clear();
  goToLogin(true);
}
