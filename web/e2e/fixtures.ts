// Test fixtures: the seeded accounts, sign-in through the real refresh cookie, a guard that
// fails any test whose page logged a console error, threw, or violated the CSP, and a
// screenshot of every test's last state (kept as CI artifacts).
import { test as base, expect, type Page } from "@playwright/test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Account, Seed } from "./seed";

export { expect };

export function readSeed(): Seed {
  const file = process.env.HEXCOVERY_E2E_STATE;
  if (!file) throw new Error("HEXCOVERY_E2E_STATE is not set: run the tests with `npx playwright test` so global-setup starts the server");
  return JSON.parse(readFileSync(file, "utf8")) as Seed;
}

/** Browser-side problems seen on a page. Chromium reports an HTTP error answer as a console
 * error too; 4xx answers are the API doing its job (a wrong password, the boot-time refresh
 * without a cookie), so only 5xx answers count. */
function isProblem(text: string): boolean {
  const m = /Failed to load resource: the server responded with a status of (\d{3})/.exec(text);
  if (m) return Number(m[1]) >= 500;
  return true;
}

interface Fixtures {
  seed: Seed;
  problems: string[];
  /** Signs `account` in through the API (the browser keeps the refresh cookie), then opens `path`. */
  signIn: (account: Account, path?: string) => Promise<void>;
  /** Saves a full-page screenshot named `name` under the screenshots dir. */
  shot: (name: string) => Promise<void>;
}

export const test = base.extend<Fixtures>({
  seed: async ({}, use) => use(readSeed()),
  baseURL: async ({}, use) => use(readSeed().baseURL),
  problems: [
    async ({ page }, use, info) => {
      const problems: string[] = [];
      await page.addInitScript(() => {
        document.addEventListener("securitypolicyviolation", (e) => {
          const el = e.target instanceof Element ? `<${e.target.tagName.toLowerCase()} class="${e.target.getAttribute("class") ?? ""}">` : String(e.target);
          console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber} on ${el}: ${e.sample}`);
        });
      });
      page.on("console", (msg) => {
        if (msg.type() === "error" && isProblem(msg.text())) problems.push(`console: ${msg.text()}`);
      });
      page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
      // A page asking for something its user may not have is a role bug in the UI (the
      // server refusing is right; the page should not have asked).
      page.on("response", (res) => {
        if (res.status() === 403 && new URL(res.url()).pathname.startsWith("/api/")) problems.push(`403 from ${res.request().method()} ${new URL(res.url()).pathname}`);
      });
      await use(problems);
      const dir = process.env.HEXCOVERY_E2E_SCREENSHOTS;
      if (dir && !page.isClosed()) {
        const name = info.titlePath.slice(1).join(" - ").replace(/[^\w.-]+/g, "_").slice(0, 120);
        await page.screenshot({ path: join(dir, `${name}.png`), fullPage: false }).catch(() => undefined);
      }
      expect(problems, "console errors, page errors and CSP violations").toEqual([]);
    },
    { auto: true },
  ],
  signIn: async ({ page }, use) => {
    await use(async (account, path = "/") => {
      const res = await page.request.post("/api/v1/auth/login", { data: { email: account.email, password: account.password } });
      expect(res.status(), await res.text()).toBe(200);
      await page.goto(path);
      await expect(page.getByRole("navigation", { name: "Primary" })).toBeVisible();
    });
  },
  shot: async ({ page }, use) => {
    await use(async (name) => {
      const dir = process.env.HEXCOVERY_E2E_SCREENSHOTS;
      if (dir) await page.screenshot({ path: join(dir, `${name}.png`), fullPage: true });
    });
  },
});

/** Runs OQL as `account` through the API, as a client would, to compare with the UI. */
export async function oqlAs(page: Page, account: Account, query: string, extra: Record<string, unknown> = {}) {
  const login = await page.request.post("/api/v1/auth/login", { data: { email: account.email, password: account.password } });
  const { access_token } = await login.json();
  const res = await page.request.post("/api/v1/dsl", { data: { query, ...extra }, headers: { Authorization: `Bearer ${access_token}` } });
  expect(res.status(), await res.text()).toBe(200);
  return (await res.json()) as { columns: { name: string }[]; rows: unknown[][] };
}

/** A fresh access token for `account`, for API calls a test makes around the UI. */
export async function tokenFor(page: Page, account: Account): Promise<string> {
  const res = await page.request.post("/api/v1/auth/login", { data: { email: account.email, password: account.password } });
  expect(res.status()).toBe(200);
  return (await res.json()).access_token;
}
