// Role-appropriate UI: a viewer, who joined through the invite page, sees no edit controls
// anywhere (the server refuses the same actions anyway, which the Rust tests cover).
import { expect, test, tokenFor } from "./fixtures";

/** Buttons and links that change something; a viewer must see none of them. */
const EDIT_CONTROL = /^(new|create|add|edit|save|delete|remove|import|revoke|invite|restore|send test|enable|disable|regenerate|pause|resume|silence|turn on|end now)\b/i;

const PAGES: string[] = ["/", "/logs", "/traces", "/hosts", "/schema", "/query", "/dashboards", "/alerts", "/alerts?tab=silences", "/heartbeats", "/settings/org", "/settings/teams", "/settings/users", "/settings/api-keys", "/settings/channels", "/settings/audit"];

test("a viewer joins through the invite page and sees no edit controls", async ({ page, seed, baseURL }) => {
  const admin = await tokenFor(page, seed.admin);
  const email = `viewer-${Date.now()}@acme.test`;
  const invite = await page.request.post(`${baseURL}/api/v1/invites`, { headers: { Authorization: `Bearer ${admin}` }, data: { email, role: "viewer" } });
  expect(invite.status(), await invite.text()).toBe(201);
  const token = new URL((await invite.json()).invite_url).searchParams.get("token")!;

  // Objects whose own pages hold edit controls: a dashboard, an alert rule, a heartbeat.
  const auth = { Authorization: `Bearer ${admin}` };
  const dash = await page.request.post(`${baseURL}/api/v1/dashboards`, {
    headers: auth,
    data: { title: "Viewer walk", panels: [{ id: "n", kind: "stat", title: "Logs", query: "SELECT count(*) FROM logs", layout: { x: 0, y: 0, w: 6, h: 4 } }] },
  });
  expect(dash.status(), await dash.text()).toBe(201);
  const rule = await page.request.post(`${baseURL}/api/v1/alerts`, {
    headers: auth,
    data: { name: "viewer walk", query: "SELECT service, count(*) AS value FROM logs GROUP BY service", window: "5m", interval: "1m", condition: { op: ">", threshold: 1000000 } },
  });
  expect(rule.status(), await rule.text()).toBe(201);
  const ping = await page.request.post(`${baseURL}/api/v1/heartbeat/viewer-walk`, { headers: { "x-api-key": seed.admin.apiKey } });
  expect(ping.status(), await ping.text()).toBe(202);
  PAGES.push(`/dashboards/${(await dash.json()).id}`, `/dashboards/${(await dash.json()).id}?edit=1`, `/alerts/${(await rule.json()).id}`, "/heartbeats?name=viewer-walk");

  await page.goto(`/invite?token=${encodeURIComponent(token)}`);
  await page.getByLabel("Your name").fill("Vera Viewer");
  await page.getByLabel("Password").fill("viewer password 123");
  await page.getByRole("button", { name: "Accept invite" }).click();
  await expect(page.getByRole("navigation", { name: "Primary" })).toBeVisible();

  for (const path of PAGES) {
    await page.goto(path);
    await expect(page.getByRole("navigation", { name: "Primary" })).toBeVisible();
    await page.waitForLoadState("networkidle");
    const main = page.getByRole("main");
    const names = [...(await main.getByRole("button").allInnerTexts()), ...(await main.getByRole("link").allInnerTexts())].map((t) => t.trim());
    const editing = names.filter((n) => EDIT_CONTROL.test(n));
    expect(editing, `edit controls a viewer sees on ${path}`).toEqual([]);
  }
});

test("an invite link without a token says what to do", async ({ page }) => {
  await page.goto("/invite");
  await expect(page.getByRole("alert")).toContainText("no invite token");
});
