// The OQL query page and the schema page: a query typed and run with Ctrl+Enter answering
// what the API answers, an error marked at its line and column with the hint, a bucketed
// query drawn as a chart, the schema's tables and columns, saving a query, adding it to a
// dashboard, and a viewer seeing neither Save nor Add to dashboard.
import type { APIRequestContext, Page } from "@playwright/test";
import { expect, oqlAs, test, tokenFor } from "./fixtures";
import type { Account } from "./seed";

const PASSWORD = "a long enough password";

/** An org of its own (so dashboards and users made here touch nobody else's data). */
async function freshOrg(request: APIRequestContext, baseURL: string, slug: string): Promise<{ account: Account; token: string }> {
  const email = `admin@${slug}.test`;
  const res = await request.post(`${baseURL}/api/v1/auth/signup`, { data: { org_name: slug, org_slug: slug, email, password: PASSWORD, name: "Quinn Query" } });
  expect(res.status(), await res.text()).toBe(201);
  return { account: { email, password: PASSWORD, name: "Quinn Query", orgName: slug, orgSlug: slug, apiKey: "" }, token: (await res.json()).access_token };
}

/** The editor's text box, once CodeMirror has replaced the fallback textarea. */
async function editor(page: Page) {
  const box = page.getByRole("textbox", { name: "Query" });
  await expect(box).toHaveAttribute("contenteditable", "true", { timeout: 20_000 });
  return box;
}

const queryUrl = (q: string) => `/query?${new URLSearchParams({ q })}`;

test("a query typed in the editor runs with Ctrl+Enter and answers what the API answers", async ({ page, seed, signIn, shot }) => {
  await signIn(seed.admin, "/query");
  const box = await editor(page);
  await box.click();
  const query = "SELECT level, count(*) FROM logs GROUP BY level ORDER BY level";
  await page.keyboard.type(query);
  // Typing FROM offered the tables; Escape closes whatever list is open.
  await page.keyboard.press("Escape");
  await expect(box).toHaveText(query);
  await page.keyboard.press("Control+Enter");

  await expect.poll(() => new URL(page.url()).searchParams.get("q")).toBe(query);
  const table = page.getByRole("table", { name: "Query results" });
  await expect(table).toBeVisible();
  const expected = await oqlAs(page, seed.admin, query, { from: "now-1h", to: "now" });
  expect(expected.rows.length).toBeGreaterThan(1);
  for (const [level, count] of expected.rows) {
    const row = table.getByRole("row").filter({ has: page.getByRole("cell", { name: String(level), exact: true }) });
    await expect(row.getByRole("cell").nth(1)).toHaveText(String(count));
  }
  await expect(page.getByLabel("Query stats")).toContainText(`${expected.rows.length} rows`);
  // Not a time series: no chart.
  await expect(page.getByRole("figure", { name: "Query result chart" })).toHaveCount(0);

  // Completion: after FROM the org's tables are offered.
  await box.click();
  await page.keyboard.press("Control+a");
  await page.keyboard.type("SELECT count(*) FROM sp");
  const options = page.getByRole("listbox");
  const spans = options.getByRole("option", { name: /spans/ });
  await expect(spans).toBeVisible();
  await spans.click();
  await expect(box).toHaveText("SELECT count(*) FROM spans");
  await page.keyboard.type(" WHERE dur");
  await expect(options.getByRole("option", { name: /duration_ms/ })).toBeVisible();
  await page.keyboard.press("Escape");
  await shot("query-table");
});

test("an unknown column is marked at its line and column, with the hint", async ({ page, seed, signIn, shot }) => {
  const bad = "SELECT count(*)\nFROM logs\nWHERE levl = 'error'";
  await signIn(seed.admin, queryUrl(bad));
  const box = await editor(page);
  const note = page.getByRole("alert");
  await expect(note).toContainText("Line 3, column 7");
  await expect(note).toContainText("no column `levl`");
  await expect(note).toContainText("Hint: did you mean `level`?");
  await expect(note).toContainText("oql_unknown");
  // The lint mark covers exactly the unknown name, on the third line.
  const mark = box.locator(".cm-line").nth(2).locator(".cm-lintRange-error");
  await expect(mark).toHaveText("levl");
  await expect(box.locator(".cm-lintRange-error")).toHaveCount(1);
  // Hovering the mark shows the message and the hint.
  await mark.hover();
  const tooltip = page.locator(".cm-tooltip-lint");
  await expect(tooltip).toContainText("did you mean `level`?");
  await shot("query-error");
  await page.mouse.move(700, 860);
  await expect(tooltip).toHaveCount(0);

  // A syntax error points at the offending token: the second "=", at column 41.
  await box.click();
  await page.keyboard.press("Control+a");
  await page.keyboard.type("SELECT count(*) FROM logs WHERE level = = 'error'");
  await page.getByRole("button", { name: "Run", exact: true }).click();
  await expect(note).toContainText("Line 1, column 41");
  await expect(note).toContainText("oql_syntax");
  const syntax = box.locator(".cm-lintRange-error");
  await expect(syntax).toHaveText("=");
  const left = await syntax.evaluate((el) => {
    const range = document.createRange();
    range.setStart(el.closest(".cm-line")!, 0);
    range.setEndBefore(el);
    return range.toString().length;
  });
  expect(left).toBe(40);

  // Fixing it and running clears the error.
  await box.click();
  await page.keyboard.press("Control+a");
  await page.keyboard.type("SELECT count(*) FROM logs");
  await page.keyboard.press("Escape");
  await page.keyboard.press("Control+Enter");
  await expect(page.getByRole("table", { name: "Query results" })).toBeVisible();
  await expect(note).toHaveCount(0);
  await expect(box.locator(".cm-lintRange-error")).toHaveCount(0);
});

test("a bucketed query is drawn as a chart as well as a table", async ({ page, seed, signIn, shot }) => {
  const q = "SELECT bucket() AS t, service, count(*) FROM logs GROUP BY t, service ORDER BY t";
  await signIn(seed.admin, queryUrl(q));
  const chart = page.getByRole("figure", { name: "Query result chart" });
  await expect(chart).toBeVisible();
  await expect(chart.locator("canvas")).toHaveCount(1);
  for (const service of seed.services) await expect(chart).toContainText(service);
  const expected = (await oqlAs(page, seed.admin, q, { from: "now-1h", to: "now" })) as unknown as { stats: { bucket: string } };
  await expect(page.getByLabel("Query stats")).toContainText(`bucket ${expected.stats.bucket}`);
  await expect(page.getByRole("table", { name: "Query results" })).toBeVisible();
  await shot("query-chart");
  await page.getByRole("button", { name: "Dark theme" }).click();
  await expect(chart.locator("canvas")).toHaveCount(1);
  await shot("query-chart-dark");
});

test("the schema page lists tables, columns, metric namespaces and attribute keys", async ({ page, seed, signIn, shot }) => {
  await signIn(seed.admin, "/schema");
  const tables = page.getByRole("navigation", { name: "Tables" });
  for (const name of ["logs", "spans", "metrics"]) await expect(tables.getByRole("link", { name, exact: true })).toBeVisible();
  await expect(page.getByRole("navigation", { name: "Metric namespaces" }).getByRole("link", { name: "host", exact: true })).toBeVisible();

  const logs = page.getByRole("table", { name: "Columns of logs" });
  for (const [column, type] of [["level", "string"], ["body", "string"], ["severity_number", "integer"], ["attributes", "map"]]) {
    await expect(logs.getByRole("row").filter({ has: page.getByRole("link", { name: column, exact: true }) })).toContainText(type);
  }
  const keys = page.getByRole("table", { name: "attributes keys of logs" });
  await expect(keys.getByRole("link", { name: "http.route" })).toBeVisible();
  await expect(page.getByRole("table", { name: "resource keys of logs" }).getByRole("link", { name: "service.name" })).toBeVisible();
  await shot("schema-logs");

  await tables.getByRole("link", { name: "spans", exact: true }).click();
  await expect(page).toHaveURL(/\/schema\?table=spans$/);
  await expect(page.getByRole("table", { name: "Columns of spans" }).getByRole("row").filter({ hasText: "duration_ms" })).toContainText("float");

  await page.getByRole("navigation", { name: "Metric namespaces" }).getByRole("link", { name: "host" }).click();
  const host = page.getByRole("table", { name: "Columns of host" });
  await expect(host.getByRole("row").filter({ hasText: "cpu_usage_pct" })).toContainText("host.cpu_usage_pct");
  await shot("schema-host");

  await tables.getByRole("link", { name: "metrics", exact: true }).click();
  await expect(page.getByRole("table", { name: "Metrics" }).getByRole("link", { name: "host.load_1m" })).toBeVisible();

  // A column opens the query page with a starter query that runs.
  await tables.getByRole("link", { name: "logs", exact: true }).click();
  await page.getByRole("table", { name: "Columns of logs" }).getByRole("link", { name: "level", exact: true }).click();
  await expect(page).toHaveURL(/\/query\?q=SELECT\+level/);
  await expect(page.getByRole("table", { name: "Query results" }).getByRole("cell", { name: "info", exact: true })).toBeVisible();
});

test("a query is saved, listed and opened again", async ({ page, seed, signIn, shot }) => {
  const q = "SELECT service, count(*) FROM logs WHERE level = 'error' GROUP BY service ORDER BY service";
  await signIn(seed.admin, queryUrl(q));
  await expect(page.getByRole("table", { name: "Query results" })).toBeVisible();
  await page.getByRole("button", { name: "Save", exact: true }).click();
  const name = `Errors by service ${Date.now()}`;
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("Tags").fill("e2e, errors");
  await page.getByRole("button", { name: "Save query" }).click();

  const list = page.getByRole("list", { name: "Saved queries" });
  const link = list.getByRole("link", { name });
  await expect(link).toBeVisible();
  await expect(page).toHaveURL(/saved=/);
  const token = await tokenFor(page, seed.admin);
  const stored = await (await page.request.get("/api/v1/saved-queries?limit=200", { headers: { Authorization: `Bearer ${token}` } })).json();
  expect(stored.saved_queries.find((s: { name: string }) => s.name === name)).toMatchObject({ query: q, tags: ["e2e", "errors"] });
  await shot("query-saved");

  // Opened from the list on a fresh page, it fills the editor and runs.
  await page.goto("/query");
  await list.getByRole("link", { name }).click();
  await expect(await editor(page)).toHaveText(q);
  await expect(page.getByRole("table", { name: "Query results" })).toBeVisible();
});

test("a query is added to a dashboard as a panel, without its own time range", async ({ page, request, baseURL, signIn, shot }) => {
  const org = await freshOrg(request, baseURL!, `query-dash-${Date.now() % 1e6}`);
  const auth = { Authorization: `Bearer ${org.token}` };
  const created = await request.post(`${baseURL}/api/v1/dashboards`, { headers: auth, data: { title: "Query target", panels: [] } });
  expect(created.status(), await created.text()).toBe(201);
  const id = (await created.json()).id;
  // Someone else saves a version first: the add must build on it, not overwrite it.
  const first = await (await request.get(`${baseURL}/api/v1/dashboards/${id}`, { headers: auth })).json();
  const edited = await request.put(`${baseURL}/api/v1/dashboards/${id}`, { headers: { ...auth, "If-Match": `"${first.version}"` }, data: { title: "Query target", description: "edited elsewhere", panels: [] } });
  expect(edited.status(), await edited.text()).toBe(200);

  await signIn(org.account, queryUrl("SELECT bucket() AS t, count(*) FROM logs GROUP BY t ORDER BY t LAST 6h"));
  await page.getByRole("button", { name: "Add to dashboard" }).click();
  await expect(page.getByLabel("Dashboard", { exact: true })).toHaveValue(id);
  await expect(page.getByText("LAST 6h is left out")).toBeVisible();
  await page.getByLabel("Panel title").fill("Log volume");
  await page.getByRole("button", { name: "Add panel" }).click();
  await expect(page.getByRole("status").getByRole("link", { name: "Query target" })).toHaveAttribute("href", `/dashboards/${id}`);
  await shot("query-add-to-dashboard");

  const after = await (await request.get(`${baseURL}/api/v1/dashboards/${id}`, { headers: auth })).json();
  expect(after.version).toBe(first.version + 2);
  expect(after.description).toBe("edited elsewhere");
  expect(after.panels).toEqual([expect.objectContaining({ title: "Log volume", kind: "timeseries", query: "SELECT bucket() AS t, count(*) FROM logs GROUP BY t ORDER BY t" })]);

  // A new dashboard from the same form.
  await page.getByLabel("Dashboard", { exact: true }).selectOption({ label: "New dashboard…" });
  await page.getByLabel("Dashboard title").fill("Made from a query");
  await page.getByRole("button", { name: "Add panel" }).click();
  await expect(page.getByRole("status").getByRole("link", { name: "Made from a query" })).toBeVisible();
});

test("a viewer runs queries but sees neither Save nor Add to dashboard", async ({ page, request, baseURL, signIn }) => {
  const org = await freshOrg(request, baseURL!, `query-view-${Date.now() % 1e6}`);
  const email = `viewer@${org.account.orgSlug}.test`;
  const invite = await request.post(`${baseURL}/api/v1/invites`, { headers: { Authorization: `Bearer ${org.token}` }, data: { email, role: "viewer" } });
  expect(invite.status(), await invite.text()).toBe(201);
  const token = new URL((await invite.json()).invite_url).searchParams.get("token");
  const accept = await request.post(`${baseURL}/api/v1/invites/accept`, { data: { token, name: "Vic Viewer", password: PASSWORD } });
  expect(accept.status(), await accept.text()).toBe(201);

  await signIn({ ...org.account, email, name: "Vic Viewer" }, queryUrl("SELECT count(*) FROM logs"));
  await expect(page.getByRole("table", { name: "Query results" }).getByRole("cell", { name: "0", exact: true })).toBeVisible();
  await expect(page.getByRole("button", { name: "Run", exact: true })).toBeVisible();
  await expect(page.getByRole("button", { name: "Save", exact: true })).toHaveCount(0);
  await expect(page.getByRole("button", { name: "Add to dashboard" })).toHaveCount(0);
});

test("a 10 000-row answer renders only the rows in view and scrolls to the last", async ({ page, seed, signIn }) => {
  await signIn(seed.bulk, queryUrl("SELECT timestamp, body, attributes FROM logs ORDER BY timestamp LIMIT 10000"));
  const table = page.getByRole("table", { name: "Query results" });
  await expect(table).toHaveAttribute("aria-rowcount", "10001");
  await expect(page.getByLabel("Query stats")).toContainText("10k rows");
  const rendered = await table.getByRole("row").count();
  expect(rendered).toBeLessThan(150);
  // Scroll the table's box to its end: the last line is drawn.
  await table.evaluate((el) => {
    const box = el.parentElement!;
    box.scrollTop = box.scrollHeight;
  });
  await expect(table.getByRole("row").last()).toContainText("bulk line 9999");
});
