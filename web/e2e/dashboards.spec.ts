// Dashboards in the browser against the real server: one created in the UI, a time-series
// panel over `logs` added with its preview, saved, reloaded, renamed (a new version) and
// version 1 restored; a stale save answered 412 and reloaded; a dashboard of every panel
// kind with a variable, markers and edit mode (screenshots); viewers see no edit controls.
import type { Page } from "@playwright/test";
import { expect, test, tokenFor } from "./fixtures";
import type { Account } from "./seed";

const LOG_QUERY = "SELECT bucket() AS t, service, count(*) FROM logs GROUP BY t, service ORDER BY t";

async function apiAs(page: Page, account: Account) {
  const token = await tokenFor(page, account);
  const headers = { Authorization: `Bearer ${token}` };
  return {
    get: async (path: string) => {
      const res = await page.request.get(path, { headers });
      expect(res.status(), await res.text()).toBe(200);
      return res.json();
    },
    post: async (path: string, data: unknown, status = 201) => {
      const res = await page.request.post(path, { headers, data });
      expect(res.status(), await res.text()).toBe(status);
      return res.json();
    },
    put: async (path: string, data: unknown, ifMatch: string) => {
      const res = await page.request.put(path, { headers: { ...headers, "If-Match": ifMatch }, data });
      expect(res.status(), await res.text()).toBe(200);
      return res.json();
    },
  };
}

test("a dashboard created in the UI, saved, reloaded, edited and restored", async ({ page, seed, signIn, shot }) => {
  await signIn(seed.admin, "/dashboards");
  await page.getByRole("button", { name: "New dashboard" }).click();
  await page.getByLabel("Title", { exact: true }).fill("E2E log volume");
  await page.getByRole("button", { name: "Create" }).click();
  await expect(page).toHaveURL(/\/dashboards\/new\?/);
  await expect(page.getByRole("heading", { level: 1, name: "E2E log volume" })).toBeVisible();
  await expect(page.getByText("No panels yet. Add panel puts one on the grid.")).toBeVisible();
  await shot("dashboards-new");

  await page.getByRole("button", { name: "Add panel" }).click();
  const sheet = page.getByRole("dialog", { name: "Add panel" });
  await sheet.getByLabel("Panel title").fill("Logs by service");
  await sheet.getByLabel("Query", { exact: true }).fill(LOG_QUERY);
  // The preview runs the draft as typed and draws it as the panel will.
  await expect(sheet.getByRole("figure", { name: "Preview: Logs by service" })).toBeVisible();
  await expect(sheet.getByText(/\d+ rows/)).toBeVisible();
  await sheet.getByRole("button", { name: "Apply" }).click();
  await expect(sheet).toBeHidden();
  const draftPanel = page.getByRole("region", { name: "Logs by service" });
  await expect(draftPanel.getByRole("figure", { name: "Logs by service" })).toBeVisible();

  await page.getByRole("button", { name: "Save" }).click();
  await expect(page).toHaveURL(/\/dashboards\/[0-9a-f-]{36}/);
  await expect(page.getByRole("button", { name: "Edit", exact: true })).toBeVisible();
  await expect(page.getByText("version 1")).toBeVisible();
  const id = /\/dashboards\/([0-9a-f-]{36})/.exec(page.url())![1];

  // A reload keeps it, and the panel runs through the panel endpoint with data.
  await page.reload();
  const panel = page.getByRole("region", { name: "Logs by service" });
  await expect(panel.getByRole("figure", { name: "Logs by service" })).toBeVisible();
  for (const service of seed.services) await expect(panel.getByText(service, { exact: true })).toBeVisible();
  await expect(panel.getByText("No data in this range")).toHaveCount(0);

  // Edit again: a new title is version 2.
  await page.getByRole("button", { name: "Edit", exact: true }).click();
  await page.getByLabel("Dashboard title").fill("E2E log volume, renamed");
  await expect(page.getByText("Editing · unsaved changes")).toBeVisible();
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "E2E log volume, renamed" })).toBeVisible();
  await expect(page.getByText("version 2")).toBeVisible();

  // Version 1 restored: the old title is back, as version 3.
  await page.getByRole("button", { name: "Versions" }).click();
  const versions = page.getByRole("dialog", { name: "Versions" });
  await expect(versions.getByRole("button", { name: /^View version/ })).toHaveCount(2);
  await versions.getByRole("button", { name: "View version 1" }).click();
  await expect(versions.getByText("E2E log volume", { exact: true })).toBeVisible();
  await shot("dashboards-versions");
  await versions.getByRole("button", { name: "Restore" }).click();
  await expect(versions).toBeHidden();
  await expect(page.getByRole("heading", { level: 1, name: "E2E log volume" })).toBeVisible();
  await expect(page.getByText("version 3")).toBeVisible();
  await expect(page.getByRole("region", { name: "Logs by service" }).getByRole("figure")).toBeVisible();

  const api = await apiAs(page, seed.admin);
  const stored = await api.get(`/api/v1/dashboards/${id}`);
  expect([stored.title, stored.version, stored.panels.length]).toEqual(["E2E log volume", 3, 1]);
  expect(stored.panels[0].query).toBe(LOG_QUERY);

  // The list shows it with its panel count.
  await page.getByRole("navigation", { name: "Primary" }).getByRole("link", { name: "Dashboards" }).click();
  const row = page.getByRole("row").filter({ has: page.getByRole("link", { name: "E2E log volume" }) });
  await expect(row.getByRole("cell").nth(1)).toHaveText("1");
});

test("a save over someone else's newer version says so and reloads theirs", async ({ page, seed, signIn }) => {
  const api = await apiAs(page, seed.admin);
  const created = await api.post("/api/v1/dashboards", { title: "E2E conflict", panels: [{ id: "n", kind: "stat", title: "Logs", query: "SELECT count(*) FROM logs", layout: { x: 0, y: 0, w: 6, h: 4 } }] });
  await signIn(seed.admin, `/dashboards/${created.id}?edit=1`);
  await expect(page.getByLabel("Dashboard title")).toHaveValue("E2E conflict");
  // Meanwhile another session saves version 2.
  const { id, version, created_by, updated_by, created_at, updated_at, ...doc } = created;
  void [id, version, created_by, updated_by, created_at, updated_at];
  await api.put(`/api/v1/dashboards/${created.id}`, { ...doc, title: "E2E conflict, theirs" }, '"1"');

  await page.getByLabel("Dashboard title").fill("E2E conflict, mine");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "Someone else saved this dashboard" })).toBeVisible();
  await page.getByRole("button", { name: "Reload" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "E2E conflict, theirs" })).toBeVisible();
  await expect(page.getByText("version 2")).toBeVisible();

  // Deleting from the list asks once more, then the dashboard is gone.
  await page.getByRole("navigation", { name: "Primary" }).getByRole("link", { name: "Dashboards" }).click();
  await page.getByRole("button", { name: "Delete E2E conflict, theirs" }).click();
  await page.getByRole("button", { name: "Confirm delete" }).click();
  await expect(page.getByRole("link", { name: "E2E conflict, theirs" })).toHaveCount(0);
  const gone = await page.request.get(`/api/v1/dashboards/${created.id}`, { headers: { Authorization: `Bearer ${await tokenFor(page, seed.admin)}` } });
  expect(gone.status()).toBe(404);
});

test("every panel kind, a variable, markers and edit mode", async ({ page, seed, signIn, shot }) => {
  const api = await apiAs(page, seed.admin);
  // An annotation and the deploy filter that draws it.
  await page.request.post("/api/v1/annotations", {
    headers: { "X-API-Key": seed.admin.apiKey },
    data: { name: "deploy/checkout", title: "checkout v2.4", tags: ["prod"], time: new Date(seed.now - 25 * 60e3).toISOString() },
  });
  const created = await api.post("/api/v1/dashboards", {
    title: "E2E service health",
    description: "Logs and hosts of the shop",
    tags: ["shop"],
    time: { from: "now-1h", to: "now" },
    variables: [{ name: "service", kind: "query", query: "SELECT DISTINCT service FROM logs", multi: true }],
    annotations: { names: ["deploy/*"], alerts: true },
    panels: [
      { id: "total", kind: "stat", title: "Logs", query: "SELECT count(*) AS logs FROM logs WHERE service IN ($service)", layout: { x: 0, y: 0, w: 6, h: 4 } },
      { id: "errors", kind: "stat", title: "Errors", query: "SELECT count(*) AS errors FROM logs WHERE level = 'error' AND service IN ($service)", layout: { x: 6, y: 0, w: 6, h: 4 }, options: { thresholds: [{ value: 0, color: "green" }, { value: 20, color: "red" }] } },
      { id: "by-service", kind: "bar", title: "Logs per service", query: "SELECT service, count(*) AS logs FROM logs WHERE service IN ($service) GROUP BY service", layout: { x: 12, y: 0, w: 12, h: 4 } },
      { id: "volume", kind: "timeseries", title: "Log volume", query: "SELECT bucket() AS t, service, count(*) FROM logs WHERE service IN ($service) GROUP BY t, service ORDER BY t", layout: { x: 0, y: 4, w: 12, h: 8 } },
      { id: "cpu", kind: "timeseries", title: "CPU by host", query: "SELECT bucket() AS t, host, avg(cpu_usage_pct) AS cpu FROM host GROUP BY t, host ORDER BY t", layout: { x: 12, y: 4, w: 12, h: 8 } },
      { id: "levels", kind: "bar", title: "Levels over time", query: "SELECT bucket() AS t, level, count(*) FROM logs WHERE service IN ($service) GROUP BY t, level ORDER BY t", layout: { x: 0, y: 12, w: 12, h: 7 } },
      { id: "table", kind: "table", title: "Levels per service", query: "SELECT service, level, count(*) AS n FROM logs WHERE service IN ($service) GROUP BY service, level ORDER BY n DESC", layout: { x: 12, y: 12, w: 12, h: 7 } },
    ],
  });
  const expected = await api.post(`/api/v1/dashboards/${created.id}/panels/total/query`, {}, 200);
  await signIn(seed.admin, `/dashboards/${created.id}`);
  const total = page.getByRole("region", { name: "Logs", exact: true });
  await expect(total.getByRole("group", { name: "Logs" })).toContainText(String(expected.rows[0][0]));
  await expect(page.getByRole("region", { name: "CPU by host" }).getByRole("figure")).toBeVisible();
  await expect(page.getByRole("region", { name: "Levels per service" }).getByRole("table")).toBeVisible();
  await expect(page.getByRole("region", { name: "Log volume" }).getByRole("img", { name: /checkout v2.4/ })).toBeAttached();
  await page.waitForLoadState("networkidle");
  // The time series share one cursor: hovering one shows the time in the other's legend.
  const cpuLegend = page.getByRole("figure", { name: "CPU by host" }).getByRole("table");
  await expect(cpuLegend).not.toContainText(/\d:\d\d/);
  const volume = await page.getByRole("figure", { name: "Log volume" }).boundingBox();
  await page.mouse.move(volume!.x + volume!.width / 2, volume!.y + volume!.height / 3);
  await expect(cpuLegend).toContainText(/\d:\d\d/);
  await page.mouse.move(0, 0);
  await shot("dashboards-view");
  // The time picker and auto refresh run the panels again, over the picked range.
  const picked = page.waitForRequest((r) => r.url().endsWith("/panels/total/query") && r.postDataJSON()?.from === "now-15m");
  await page.getByRole("button", { name: "Last 1 hour" }).click();
  await page.getByRole("dialog", { name: "Time range" }).getByRole("button", { name: "Last 15 minutes" }).click();
  await picked;
  await expect(page).toHaveURL(/from=now-15m/);
  const refreshed = page.waitForRequest((r) => r.url().endsWith("/panels/total/query"), { timeout: 12_000 });
  await page.getByLabel("Auto refresh").selectOption("5s");
  await refreshed;
  await page.getByLabel("Auto refresh").selectOption("off");
  await page.getByRole("button", { name: "Last 15 minutes" }).click();
  await page.getByRole("dialog", { name: "Time range" }).getByRole("button", { name: "Last 1 hour" }).click();
  // Dark theme, and a narrow window where panels stack.
  await page.getByRole("button", { name: "Dark theme" }).click();
  await expect(page.getByRole("region", { name: "CPU by host" }).getByRole("figure")).toBeVisible();
  await shot("dashboards-view-dark");
  await page.setViewportSize({ width: 700, height: 900 });
  await shot("dashboards-view-narrow");
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.getByRole("button", { name: "Light theme" }).click();

  // Picking one service: the URL holds it and the panels run again with it bound.
  await page.getByRole("button", { name: /service/ }).click();
  await page.getByRole("group", { name: "service values" }).getByLabel("checkout").check();
  await expect(page).toHaveURL(/var-service=checkout/);
  await page.keyboard.press("Escape");
  const one = await api.post(`/api/v1/dashboards/${created.id}/panels/total/query`, { variables: { service: ["checkout"] } }, 200);
  await expect(total.getByRole("group", { name: "Logs" })).toContainText(String(one.rows[0][0]));
  expect(one.rows[0][0]).toBeLessThan(expected.rows[0][0]);

  // Edit mode: keyboard moves and resizes, and a query edited with its preview.
  await page.getByRole("button", { name: "Edit", exact: true }).click();
  await expect(page.getByRole("region", { name: "CPU by host" }).getByRole("figure")).toBeVisible();
  await shot("dashboards-edit");
  const errors = page.getByRole("region", { name: "Errors" });
  await errors.getByRole("button", { name: "Move left" }).click();
  await expect(errors.getByText("6×4 at 0,0")).toBeVisible();
  await errors.getByRole("button", { name: "Wider" }).click();
  await expect(errors.getByText("7×4 at 0,0")).toBeVisible();
  // Widening over its neighbour pushes that one down.
  await expect(page.getByRole("region", { name: "Logs", exact: true }).getByText("6×4 at 6,4")).toBeVisible();
  await errors.getByRole("button", { name: "Edit panel" }).click();
  const sheet = page.getByRole("dialog", { name: /Edit panel/ });
  // The editor starts as a textarea; wait for CodeMirror before typing into it.
  await expect(sheet.getByRole("textbox", { name: "Query" })).toHaveAttribute("contenteditable", "true", { timeout: 20_000 });
  await sheet.getByLabel("Query", { exact: true }).fill("SELECT count(*) AS errors FROM logs WHERE level = = 'error'");
  await expect(sheet.getByRole("alert")).toContainText(/Line 1, column \d+/);
  await sheet.getByLabel("Query", { exact: true }).fill("SELECT count(*) AS warnings FROM logs WHERE level = 'warn' AND service IN ($service)");
  await expect(sheet.getByRole("region", { name: "Preview" })).toContainText("warnings");
  await shot("dashboards-edit-panel");
  await sheet.getByRole("button", { name: "Apply" }).click();
  await page.getByRole("button", { name: "Variables" }).click();
  const vars = page.getByRole("dialog", { name: "Variables" });
  await expect(vars.getByRole("group", { name: "Options of service" })).toContainText("payments");
  await shot("dashboards-variables");
  await vars.getByRole("button", { name: "Cancel" }).click();
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByText("version 2")).toBeVisible();
  const saved = await api.get(`/api/v1/dashboards/${created.id}`);
  const errorsPanel = saved.panels.find((p: { id: string }) => p.id === "errors");
  expect(errorsPanel.layout).toEqual({ x: 0, y: 0, w: 7, h: 4 });
  expect(errorsPanel.query).toContain("'warn'");
});

test("a viewer sees dashboards but no edit controls", async ({ browser, request, seed }) => {
  // An org of its own, so the viewer added here is nobody else's concern.
  const slug = `dash-viewers-${Date.now()}`;
  const signup = await request.post(`${seed.baseURL}/api/v1/auth/signup`, { data: { org_name: "Dash Viewers", org_slug: slug, email: `owner@${slug}.test`, password: "correct horse battery", name: "Owner" } });
  expect(signup.status(), await signup.text()).toBe(201);
  const auth = { Authorization: `Bearer ${(await signup.json()).access_token}` };
  const made = await request.post(`${seed.baseURL}/api/v1/dashboards`, { headers: auth, data: { title: "E2E for viewers", panels: [{ id: "n", kind: "stat", title: "Logs", query: "SELECT count(*) FROM logs", layout: { x: 0, y: 0, w: 6, h: 4 } }] } });
  expect(made.status(), await made.text()).toBe(201);
  const created = await made.json();
  const email = `vera@${slug}.test`;
  const invite = await (await request.post(`${seed.baseURL}/api/v1/invites`, { headers: auth, data: { email, role: "viewer" } })).json();
  const token = decodeURIComponent(/token=([^&]+)/.exec(invite.invite_url)![1]);
  const accepted = await request.post(`${seed.baseURL}/api/v1/invites/accept`, { data: { token, name: "Vera Viewer", password: "correct horse battery" } });
  expect(accepted.status(), await accepted.text()).toBe(201);

  // A context of the viewer's own: their refresh cookie, and the same error guard.
  const context = await browser.newContext({ baseURL: seed.baseURL, viewport: { width: 1440, height: 900 } });
  const viewer = await context.newPage();
  const problems: string[] = [];
  viewer.on("console", (m) => m.type() === "error" && !/status of 4\d\d/.test(m.text()) && problems.push(m.text()));
  viewer.on("pageerror", (e) => problems.push(e.message));
  const login = await viewer.request.post("/api/v1/auth/login", { data: { email, password: "correct horse battery" } });
  expect(login.status()).toBe(200);
  await viewer.goto("/dashboards");
  await expect(viewer.getByRole("link", { name: "E2E for viewers" })).toBeVisible();
  await expect(viewer.getByRole("button", { name: "New dashboard" })).toHaveCount(0);
  await expect(viewer.getByRole("button", { name: "Import" })).toHaveCount(0);
  await expect(viewer.getByRole("button", { name: /^Delete/ })).toHaveCount(0);
  await viewer.getByRole("link", { name: "E2E for viewers" }).click();
  await expect(viewer.getByRole("region", { name: "Logs" }).getByRole("group", { name: "Logs" })).toContainText("0");
  await expect(viewer.getByRole("button", { name: "Edit", exact: true })).toHaveCount(0);
  await expect(viewer.getByRole("button", { name: "Export" })).toBeVisible();
  // An edit link opens the dashboard read-only.
  await viewer.goto(`/dashboards/${created.id}?edit=1`);
  await expect(viewer.getByRole("region", { name: "Logs" })).toBeVisible();
  await expect(viewer.getByRole("button", { name: "Save" })).toHaveCount(0);
  await expect(viewer.getByLabel("Dashboard title")).toHaveCount(0);
  await expect(viewer.getByRole("button", { name: "Edit panel" })).toHaveCount(0);
  await viewer.getByRole("button", { name: "Versions" }).click();
  await viewer.getByRole("button", { name: "View version 1" }).click();
  await expect(viewer.getByText("Saved by")).toBeVisible();
  await expect(viewer.getByRole("button", { name: "Restore" })).toHaveCount(0);
  // A new-dashboard link says who may create.
  await viewer.goto("/dashboards/new?title=x&edit=1");
  await expect(viewer.getByRole("alert")).toContainText("Only editors and admins");
  expect(problems).toEqual([]);
  await context.close();
});

test("export downloads the document, import makes a copy, panels drag on the grid", async ({ page, seed, signIn, shot }) => {
  const api = await apiAs(page, seed.admin);
  const created = await api.post("/api/v1/dashboards", {
    title: "E2E export me",
    variables: [{ name: "level", kind: "custom", options: ["error", "warn"], default: "error" }],
    panels: [{ id: "n", kind: "stat", title: "By level", query: "SELECT count(*) AS n FROM logs WHERE level = $level", layout: { x: 0, y: 0, w: 6, h: 4 } }],
  });
  await signIn(seed.admin, `/dashboards/${created.id}`);
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Export" }).click()]);
  expect(download.suggestedFilename()).toBe("e2e-export-me.dashboard.json");
  const file = await download.path();
  const { readFileSync } = await import("node:fs");
  const exported = JSON.parse(readFileSync(file, "utf8"));
  expect(exported.title).toBe("E2E export me");
  expect(exported.id).toBeUndefined();
  expect(exported.panels[0].query).toContain("$level");

  await page.getByRole("navigation", { name: "Primary" }).getByRole("link", { name: "Dashboards" }).click();
  await page.getByRole("button", { name: "Import" }).click();
  // Broken JSON is refused with a reason before anything is sent.
  await page.getByLabel("Export JSON").fill("{ not json");
  await page.getByRole("button", { name: "Import", exact: true }).last().click();
  await expect(page.getByRole("alert")).toContainText("not JSON");
  await page.getByLabel("Export file").setInputFiles(file);
  await expect(page.getByLabel("Export JSON")).toHaveValue(/E2E export me/);
  await shot("dashboards-import");
  await page.getByRole("button", { name: "Import", exact: true }).last().click();
  await expect(page).toHaveURL(/\/dashboards\/[0-9a-f-]{36}/);
  expect(page.url()).not.toContain(created.id);
  await expect(page.getByRole("heading", { level: 1, name: "E2E export me" })).toBeVisible();
  const stat = page.getByRole("region", { name: "By level" });
  const errors = await api.post(`/api/v1/dashboards/${created.id}/panels/n/query`, {}, 200);
  await expect(stat.getByRole("group", { name: "By level" })).toContainText(String(errors.rows[0][0]));
  // The custom variable picks another level; the panel follows.
  await page.getByLabel("level", { exact: true }).selectOption("warn");
  await expect(page).toHaveURL(/var-level=warn/);
  const warns = await api.post(`/api/v1/dashboards/${created.id}/panels/n/query`, { variables: { level: "warn" } }, 200);
  await expect(stat.getByRole("group", { name: "By level" })).toContainText(String(warns.rows[0][0]));

  // Drag by the title: six columns to the right.
  await page.getByRole("button", { name: "Edit", exact: true }).click();
  await expect(stat.getByText("6×4 at 0,0")).toBeVisible();
  const grid = await page.locator(".dash-grid").boundingBox();
  const head = await stat.getByRole("heading", { name: "By level" }).boundingBox();
  const column = (grid!.width + 10) / 24;
  await page.mouse.move(head!.x + 10, head!.y + 5);
  await page.mouse.down();
  await page.mouse.move(head!.x + 10 + column * 3, head!.y + 5, { steps: 4 });
  await page.mouse.move(head!.x + 10 + column * 6, head!.y + 5, { steps: 4 });
  await page.mouse.up();
  await expect(stat.getByText("6×4 at 6,0")).toBeVisible();
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByText("version 2")).toBeVisible();
});
