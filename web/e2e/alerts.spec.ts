// Alerts: a rule over logs (errors per service above a threshold) created in the editor,
// its backtest timeline shown before saving, a field error shown next to its field, the
// saved rule listed with its state and firing on top, an instance silenced from there;
// and a viewer reading and previewing a rule without edit controls. Each test signs up its
// own org and sends its own logs over OTLP, so the seeded org stays as other specs expect.
import type { APIRequestContext } from "@playwright/test";
import { expect, test } from "./fixtures";
import type { Account } from "./seed";

const PASSWORD = "a long enough password";
let orgs = 0;

interface Org {
  account: Account;
  token: string;
}

async function freshOrg(request: APIRequestContext, baseURL: string, name: string): Promise<Org> {
  const slug = `${name.toLowerCase().replace(/[^a-z0-9]+/g, "-")}-${Date.now().toString(36)}-${orgs++}`;
  const email = `admin@${slug}.test`;
  const res = await request.post(`${baseURL}/api/v1/auth/signup`, { data: { org_name: name, org_slug: slug, email, password: PASSWORD, name: `${name} Admin` } });
  expect(res.status(), await res.text()).toBe(201);
  const token = (await res.json()).access_token as string;
  const key = await request.post(`${baseURL}/api/v1/api-keys`, { headers: { Authorization: `Bearer ${token}` }, data: { name: "e2e alerts" } });
  expect(key.status(), await key.text()).toBe(201);
  return { account: { email, password: PASSWORD, name: `${name} Admin`, orgName: name, orgSlug: slug, apiKey: (await key.json()).key }, token };
}

async function addViewer(request: APIRequestContext, baseURL: string, org: Org): Promise<Account> {
  const email = `viewer@${org.account.orgSlug}.test`;
  const invite = await request.post(`${baseURL}/api/v1/invites`, { headers: { Authorization: `Bearer ${org.token}` }, data: { email, role: "viewer" } });
  expect(invite.status(), await invite.text()).toBe(201);
  const link = new URL((await invite.json()).invite_url);
  const accept = await request.post(`${baseURL}/api/v1/invites/accept`, { data: { token: link.searchParams.get("token"), name: "Vic Viewer", password: PASSWORD } });
  expect(accept.status(), await accept.text()).toBe(201);
  return { email, password: PASSWORD, name: "Vic Viewer", orgName: org.account.orgName, orgSlug: org.account.orgSlug, apiKey: "" };
}

const ns = (ms: number) => `${BigInt(Math.round(ms)) * 1_000_000n}`;

/** The last 40 minutes of logs: checkout logs 3 errors a minute, frontend one every 5
 * minutes, both some info lines. Answers when OQL sees them. */
async function sendLogs(request: APIRequestContext, otlpHttp: string, baseURL: string, org: Org) {
  const now = Date.now();
  const records = (service: string, level: string, perMinute: number) =>
    Array.from({ length: Math.round(40 * perMinute) }, (_, i) => ({
      timeUnixNano: ns(now - 41 * 60e3 + (i / perMinute) * 60e3),
      severityText: level.toUpperCase(),
      severityNumber: level === "error" ? 17 : 9,
      body: { stringValue: `${level} in ${service} #${i}` },
    }));
  const body = {
    resourceLogs: [
      { resource: { attributes: [{ key: "service.name", value: { stringValue: "checkout" } }] }, scopeLogs: [{ logRecords: [...records("checkout", "error", 3), ...records("checkout", "info", 2)] }] },
      { resource: { attributes: [{ key: "service.name", value: { stringValue: "frontend" } }] }, scopeLogs: [{ logRecords: [...records("frontend", "error", 0.2), ...records("frontend", "info", 4)] }] },
    ],
  };
  const res = await request.post(`${otlpHttp}/v1/logs`, { headers: { "x-api-key": org.account.apiKey }, data: body });
  expect(res.status(), await res.text()).toBeLessThan(300);
  await expect(async () => {
    const q = await request.post(`${baseURL}/api/v1/dsl`, { headers: { Authorization: `Bearer ${org.token}` }, data: { query: "SELECT count(*) AS n FROM logs", from: "now-1h", to: "now" } });
    expect((await q.json()).rows?.[0]?.[0]).toBeGreaterThan(300);
  }).toPass({ timeout: 20_000 });
}

test("an alert rule over logs is created with a preview, listed with its state, and silenced", async ({ page, request, baseURL, seed, signIn, shot }) => {
  const org = await freshOrg(request, baseURL!, "Alerting Co");
  await sendLogs(request, seed.otlpHttp, baseURL!, org);
  // A webhook channel to pick (nothing listens there; deliveries just retry).
  const channel = await request.post(`${baseURL}/api/v1/notification-channels`, { headers: { Authorization: `Bearer ${org.token}` }, data: { name: "ops webhook", url: "http://127.0.0.1:9/hook" } });
  expect(channel.status(), await channel.text()).toBe(201);
  await signIn(org.account, "/alerts");
  await expect(page.getByRole("heading", { name: "Alerts", level: 1 })).toBeVisible();
  await expect(page.getByText("No alert rules yet")).toBeVisible();
  await page.getByRole("link", { name: "New alert rule" }).click();
  await expect(page).toHaveURL(/\/alerts\/new$/);

  // The draft: count of errors per service over 5 minutes above 10, evaluated every 10 s.
  await page.getByLabel("Name", { exact: true }).fill("Checkout errors");
  await page.getByLabel("Window", { exact: true }).fill("5m");
  await page.getByLabel("Threshold", { exact: true }).fill("10");
  await page.getByLabel("Labels", { exact: true }).fill("team=payments");
  await page.getByRole("group", { name: "Channels" }).getByLabel(/ops webhook/).check();
  await page.getByLabel("Preview range").selectOption("1h");
  // A query naming a column logs do not have: the preview's OQL error is shown by the query
  // editor, at its line and column, and the preview card points there.
  const query = page.getByLabel("Query", { exact: true });
  await query.fill("SELECT service, count(*) AS value FROM logs WHERE levle = 'error' GROUP BY service");
  const queryError = page.getByRole("alert").filter({ hasText: "has no column `levle`" });
  await expect(queryError).toBeVisible({ timeout: 30_000 });
  await expect(queryError).toContainText(/Line 1, column \d+/);
  await expect(page.getByText("The preview could not run: see the error at query in the form.")).toBeVisible();
  await shot("alerts-editor-query-error");
  await query.fill("SELECT service, count(*) AS value FROM logs WHERE level = 'error' GROUP BY service");
  await query.press("Control+Enter");
  await expect(queryError).toHaveCount(0, { timeout: 30_000 });

  // A bad interval is refused by the server, and the message sits at the Interval field.
  await page.getByLabel("Interval", { exact: true }).fill("5s");
  await page.getByRole("button", { name: "Create rule" }).click();
  await expect(page.getByLabel("Interval", { exact: true })).toHaveAttribute("aria-invalid", "true");
  await expect(page.getByLabel("Interval", { exact: true })).toHaveAccessibleDescription("5s is out of range: the interval is from 10s to 24h");
  await expect(page).toHaveURL(/\/alerts\/new\?range=1h$/);
  await page.getByLabel("Interval", { exact: true }).fill("10s");

  // The backtest shows before saving: the value chart and checkout's firing run.
  await expect(page.getByRole("figure", { name: /Preview: the query's value over time/ })).toBeVisible();
  // At the 10 s interval the hour is some 360 ticks (the status says so once it re-ran).
  await expect(page.getByRole("status").filter({ hasText: /^Would have fired \d+ times? \(service=checkout\); .* over 3\d\d ticks\.$/ })).toBeVisible({ timeout: 30_000 });
  await expect(page.getByRole("img", { name: /^service=checkout: firing from/ }).first()).toBeVisible();
  await expect(page.getByRole("img", { name: /^service=frontend: ok from/ }).first()).toBeVisible();
  await expect(page.getByRole("table", { name: "Preview notifications" })).toContainText("firing");
  await expect(page.getByLabel("Interval", { exact: true })).not.toHaveAttribute("aria-invalid", "true");
  await shot("alerts-editor-preview");

  await page.getByRole("button", { name: "Create rule" }).click();
  await expect(page).toHaveURL(/\/alerts\/[0-9a-f-]{36}\?range=1h$/);
  await expect(page.getByRole("status").filter({ hasText: "Alert rule “Checkout errors” created." })).toBeVisible();
  await expect(page.getByRole("heading", { name: "Checkout errors", level: 1 })).toBeVisible();
  const ruleUrl = page.url();
  await page.getByRole("button", { name: "Send test" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Queued 1 test message to the rule's channels." })).toBeVisible();
  await page.getByRole("button", { name: "Pause" }).click();
  await expect(page.getByText("paused", { exact: true })).toBeVisible();
  await page.getByRole("button", { name: "Resume" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Resumed." })).toBeVisible();
  // An edit marks the draft unsaved until saved.
  await page.getByLabel("Description", { exact: true }).fill("Page the payments team");
  await expect(page.getByText("Unsaved changes")).toBeVisible();
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await expect(page.getByRole("status").filter({ hasText: "Saved." })).toBeVisible();
  await expect(page.getByText("Unsaved changes")).toHaveCount(0);

  // Evaluated every 10 s: checkout fires, and the list shows it on top and in the rules.
  await page.getByRole("link", { name: "All rules" }).click();
  const row = page.getByRole("table", { name: "Alert rules" }).getByRole("row", { name: /Checkout errors/ });
  await expect(row).toBeVisible();
  await expect(row.getByText(/^(unknown|ok|firing|pending|no data)$/)).toBeVisible();
  await expect(async () => {
    await page.reload();
    await expect(page.getByRole("table", { name: "Firing alerts" })).toContainText("Checkout errors", { timeout: 2000 });
  }).toPass({ timeout: 45_000 });
  await expect(row.getByText("firing", { exact: true })).toBeVisible();
  await expect(row).toContainText("value > 10");
  await page.getByLabel("State").selectOption("firing");
  await expect(page).toHaveURL(/state=firing/);
  await expect(row).toBeVisible();
  await shot("alerts-list");

  // The rule's instances: checkout firing, with the rule's label.
  await page.goto(ruleUrl);
  const instances = page.getByRole("table", { name: "Instances" });
  await expect(instances.getByRole("row", { name: /service=checkout/ })).toContainText("firing");
  await page.getByRole("link", { name: "History" }).click();
  await expect(page.getByRole("table", { name: "History" })).toContainText("service=checkout");
  await shot("alerts-rule-history");

  // Silence checkout's instance from the firing list: the form comes filled in.
  await page.goto("/alerts");
  await page.getByRole("table", { name: "Firing alerts" }).getByRole("link", { name: /^Silence Checkout errors/ }).click();
  await expect(page).toHaveURL(/tab=silences/);
  await expect(page.getByLabel("Matchers")).toHaveValue("service=checkout\nteam=payments");
  await expect(page.getByLabel("Rule", { exact: true })).toHaveValue(/[0-9a-f-]{36}/);
  // A bad matcher line is named before anything is sent.
  await page.getByLabel("Matchers").fill("service ~ checkout");
  await page.getByRole("button", { name: "Create silence" }).click();
  await expect(page.getByLabel("Matchers")).toHaveAccessibleDescription(/line 1: write label=value/);
  await page.getByLabel("Matchers").fill("service=~check.*");
  await page.getByLabel("Duration").fill("2h");
  await page.getByLabel("Comment").fill("deploying checkout");
  await page.getByRole("button", { name: "Create silence" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Silence created." })).toBeVisible();
  const silence = page.getByRole("table", { name: "Silences" }).getByRole("row", { name: /deploying checkout/ });
  await expect(silence).toContainText("active");
  await expect(silence).toContainText("service=~check.*");
  await expect(silence.getByRole("link", { name: "Checkout errors" })).toBeVisible();
  // The firing instance stays firing, its notifications now held back.
  await expect(page.getByRole("table", { name: "Firing alerts" }).getByRole("row", { name: /Checkout errors/ })).toContainText("silenced");
  await shot("alerts-silences");

  // Edit it, then end it now: it moves to the expired list.
  await silence.getByRole("link", { name: /^Edit silence/ }).click();
  await page.getByLabel("Comment").fill("deploying checkout v2");
  await page.getByRole("button", { name: "Save silence" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Silence saved." })).toBeVisible();
  const edited = page.getByRole("table", { name: "Silences" }).getByRole("row", { name: /deploying checkout v2/ });
  await edited.getByRole("button", { name: "End now" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Silence ended." })).toBeVisible();
  await page.getByLabel("Show").selectOption("expired");
  await expect(page.getByRole("table", { name: "Silences" }).getByRole("row", { name: /deploying checkout v2/ })).toContainText("expired");
});

test("a viewer reads and previews a rule without edit controls", async ({ page, request, baseURL, seed, signIn, shot }) => {
  const org = await freshOrg(request, baseURL!, "Watching Co");
  await sendLogs(request, seed.otlpHttp, baseURL!, org);
  const created = await request.post(`${baseURL}/api/v1/alerts`, {
    headers: { Authorization: `Bearer ${org.token}` },
    data: { name: "Frontend errors", query: "SELECT service, count(*) AS value FROM logs WHERE level = 'error' GROUP BY service", window: "10m", interval: "1m", condition: { op: ">", threshold: 1 } },
  });
  expect(created.status(), await created.text()).toBe(201);
  const rule = await created.json();
  const viewer = await addViewer(request, baseURL!, org);

  await signIn(viewer, "/alerts");
  const row = page.getByRole("table", { name: "Alert rules" }).getByRole("row", { name: /Frontend errors/ });
  await expect(row).toBeVisible();
  await expect(page.getByRole("link", { name: "New alert rule" })).toHaveCount(0);
  await expect(row.getByRole("button")).toHaveCount(0);
  await page.getByRole("link", { name: "Silences" }).click();
  await expect(page.getByRole("link", { name: "New silence" })).toHaveCount(0);

  await page.goto(`/alerts/${rule.id}`);
  await expect(page.getByRole("heading", { name: "Frontend errors", level: 1 })).toBeVisible();
  await expect(page.getByText("You can read and preview this rule")).toBeVisible();
  for (const name of ["Save", "Delete", "Pause", "Resume", "Send test", "Create rule"]) {
    await expect(page.getByRole("button", { name, exact: true })).toHaveCount(0);
  }
  await expect(page.getByRole("textbox")).toHaveCount(0);
  await page.getByLabel("Preview range").selectOption("1h");
  await expect(page.getByText(/Would have fired \d+ times?/)).toBeVisible({ timeout: 30_000 });
  await shot("alerts-viewer-rule");
  await page.getByRole("button", { name: /theme/ }).click();
  await shot("alerts-viewer-rule-dark");

  await page.goto("/alerts/new");
  await expect(page.getByText("Only editors and admins create alert rules")).toBeVisible();
});
