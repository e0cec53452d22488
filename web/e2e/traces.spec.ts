// Traces: search with the duration scatter, the known trace's waterfall (nesting, errors,
// critical path, span details, logs), a trace with parallel and async spans in its own org,
// and the 10 000-span trace staying responsive (long tasks measured and printed).
import type { Locator, Page } from "@playwright/test";
import { expect, oqlAs, test } from "./fixtures";
import { signUpWithKey } from "./seed";

/** The known trace of seed.ts: name → depth, in tree order. */
const KNOWN: [string, number][] = [
  ["GET /checkout", 0],
  ["render cart", 1],
  ["POST /api/checkout", 1],
  ["load cart", 2],
  ["reserve stock", 2],
  ["SELECT stock", 3],
  ["POST /api/charge", 2],
  ["fraud check", 3],
  ["call card network", 3],
  ["tls handshake", 4],
  ["emit order event", 2],
  ["track analytics", 1],
];
const INDENT = 14;

/** A screenshot of the viewport only (the fixture's `shot` takes the full page). */
async function viewShot(page: Page, name: string) {
  const dir = process.env.HEXCOVERY_E2E_SCREENSHOTS;
  if (dir) await page.screenshot({ path: `${dir}/${name}.png` });
}

const spanRows = (page: Page) => page.getByRole("list", { name: "Spans" }).getByRole("listitem");

/** The span names of the rows in the DOM, in order (the name button of each row). */
async function rowNames(page: Page): Promise<string[]> {
  return spanRows(page).evaluateAll((rows) => rows.map((r) => r.querySelector("button[aria-pressed]")?.textContent ?? ""));
}

async function nameX(row: Locator, name: string): Promise<number> {
  const box = await row.getByRole("button", { name, exact: true }).boundingBox();
  return box!.x;
}

test("search finds traces and draws the duration scatter", async ({ page, seed, signIn, shot }) => {
  await signIn(seed.admin, "/traces");
  await expect(page.getByRole("heading", { name: "Traces", exact: true })).toBeVisible();
  await expect(page.getByRole("figure", { name: "Trace durations over time" })).toBeVisible();
  // Every trace of the last hour (60 background traces and the known one), as OQL counts them.
  const distinct = await oqlAs(page, seed.admin, "SELECT count_distinct(trace_id) FROM spans", { from: "now-1h", to: "now" });
  const traces = Number(distinct.rows[0][0]);
  expect(traces).toBeGreaterThanOrEqual(61);
  const table = page.getByRole("table", { name: "Matching traces" });
  await expect(table.getByRole("row")).toHaveCount(Math.min(traces, 100) + 1);
  await expect(page.getByText(`${traces} traces`)).toBeVisible();
  await expect(page.getByRole("link", { name: "GET /checkout" }).first()).toBeVisible();
  // The scatter has its two series: ok and error points.
  const chart = page.getByRole("figure", { name: "Trace durations over time" });
  await expect(chart.locator("canvas")).toHaveCount(1);
  await expect(chart.getByText("error")).toBeVisible();
  await shot("traces-search");
  await viewShot(page, "traces-search-view");
  // A click on the scatter opens the trace nearest in time; Back returns to the search.
  const plot = (await chart.locator("canvas").boundingBox())!;
  await page.mouse.move(plot.x + plot.width / 2, plot.y + plot.height / 2);
  await page.mouse.move(plot.x + plot.width / 2 + 2, plot.y + plot.height / 2);
  await page.mouse.down();
  await page.mouse.up();
  await expect(page).toHaveURL(/\/traces\/[0-9a-f]{32}\?from=/);
  await expect(spanRows(page).first()).toBeVisible();
  await page.goBack();
  await expect(table.getByRole("row")).toHaveCount(Math.min(traces, 100) + 1);

  // Filters live in the URL: payments errors lasting at least 400 ms is the known trace alone.
  await page.getByLabel("Service").selectOption("payments");
  await page.getByLabel("Span name").fill("card network");
  await page.getByLabel("Status").selectOption("error");
  await page.getByLabel("Min duration").fill("400ms");
  await page.getByRole("button", { name: "Search" }).click();
  await expect(page).toHaveURL(/service=payments/);
  await expect(page).toHaveURL(/min=400ms/);
  await expect(table.getByRole("row")).toHaveCount(2);
  const row = table.getByRole("row").nth(1);
  await expect(row.getByRole("cell").nth(2)).toHaveText("480ms");
  await expect(row.getByRole("cell").nth(3)).toHaveText("12");
  await expect(row.getByRole("cell").nth(4)).toHaveText("2");
  // Reloading keeps the search.
  await page.reload();
  await expect(page.getByLabel("Min duration")).toHaveValue("400ms");
  await expect(table.getByRole("row")).toHaveCount(2);
  // A bad bound says what is wrong instead of searching.
  await page.getByLabel("Max duration").fill("soon");
  await expect(page.getByRole("alert")).toContainText("not a duration");
  await expect(page.getByRole("button", { name: "Search" })).toBeDisabled();
  await page.getByLabel("Max duration").fill("");
  await row.getByRole("link", { name: "GET /checkout" }).click();
  await expect(page).toHaveURL(new RegExp(`/traces/${seed.knownTraceId}\\?from=`));
  await expect(spanRows(page)).toHaveCount(12);
});

test("the known trace: nesting, errors, critical path, span details and logs", async ({ page, seed, signIn, shot }) => {
  // No range in the URL, as a link from a log line: the view finds the trace by itself.
  await signIn(seed.admin, `/traces/${seed.knownTraceId}`);
  await expect(spanRows(page)).toHaveCount(12);
  expect(await rowNames(page)).toEqual(KNOWN.map(([n]) => n));
  // Nesting: each name is indented by its depth.
  const rows = spanRows(page);
  const x0 = await nameX(rows.nth(0), KNOWN[0][0]);
  for (let i = 0; i < KNOWN.length; i++) {
    const [name, depth] = KNOWN[i];
    expect(Math.round((await nameX(rows.nth(i), name)) - x0), `indent of ${name}`).toBe(depth * INDENT);
  }
  // The failing spans carry the error mark, and only they.
  const failing = rows.filter({ has: page.getByRole("img", { name: "error" }) });
  await expect(failing).toHaveCount(2);
  expect(await failing.evaluateAll((r) => r.map((x) => x.querySelector("button[aria-pressed]")?.textContent))).toEqual(["POST /api/charge", "call card network"]);
  await expect(page.getByText("2 errors")).toBeVisible();

  // The trace's logs: log lines 0–11 of the seed carry its id, one per span.
  const traceLogs = page.getByRole("list", { name: "Logs of this trace" });
  await expect(traceLogs.getByRole("listitem")).toHaveCount(12);
  await expect(traceLogs).toContainText("(request 1)");
  const logsHref = await page.getByRole("link", { name: "Open in Logs" }).getAttribute("href");
  expect(logsHref).toContain(`/logs?q=${encodeURIComponent(`trace_id = '${seed.knownTraceId}'`)}&from=`);

  // Every sibling starts after the previous one ended, so the root waited for each span in
  // turn: the critical path runs through all 12 (render cart, then POST /api/checkout with
  // load cart → reserve stock → SELECT stock → POST /api/charge → fraud check → call card
  // network → tls handshake → emit order event, then track analytics).
  await expect(page.getByText("critical path (12)")).toBeVisible();
  await page.getByLabel("Critical path only").check();
  await expect(page).toHaveURL(/critical=1/);
  await expect(spanRows(page)).toHaveCount(12);
  expect(await rowNames(page)).toEqual(KNOWN.map(([n]) => n));
  await page.getByLabel("Critical path only").uncheck();

  // Collapse and expand a subtree.
  const spans = page.getByRole("list", { name: "Spans" });
  await spans.getByRole("button", { name: "Collapse POST /api/charge", exact: true }).click();
  await expect(spanRows(page)).toHaveCount(9);
  await expect(spans.getByRole("button", { name: "tls handshake", exact: true })).toHaveCount(0);
  await spans.getByRole("button", { name: "Expand POST /api/charge", exact: true }).click();
  await expect(spanRows(page)).toHaveCount(12);

  // Clicking a span shows its details, kept in the URL.
  await spans.getByRole("button", { name: "call card network", exact: true }).click();
  await expect(page).toHaveURL(/span=[0-9a-f]{16}/);
  const panel = page.getByRole("complementary", { name: "Span details" });
  await expect(panel.getByRole("heading", { name: "call card network" })).toBeVisible();
  await expect(panel).toContainText("card declined");
  await expect(panel).toContainText("http.route");
  await expect(panel).toContainText("/checkout");
  await expect(panel).toContainText("span.index");
  await expect(panel).toContainText("service.name");
  await expect(panel).toContainText("exception");
  await expect(panel).toContainText("No links");
  await expect(panel).toContainText("190ms");
  await expect(panel).toContainText("db-1");
  // The span's own log (log line 8 belongs to span 8).
  const spanLogs = panel.getByRole("list", { name: "Logs of this span" });
  await expect(spanLogs.getByRole("listitem")).toHaveCount(1);
  await expect(spanLogs).toContainText("(request 8)");
  await shot("trace-waterfall");
  // The selection survives a reload.
  await page.reload();
  await expect(page.getByRole("complementary", { name: "Span details" }).getByRole("heading", { name: "call card network" })).toBeVisible();

  // Zoom with the minimap: the ruler follows, and "Reset zoom" undoes it.
  const minimap = page.getByRole("img", { name: /Trace minimap/ });
  const box = (await minimap.boundingBox())!;
  await page.mouse.move(box.x + box.width * 0.5, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.7, box.y + box.height / 2, { steps: 5 });
  await page.mouse.up();
  await expect(page).toHaveURL(/view=0\.\d+-0\.\d+/);
  await expect(page.getByText(/zoomed to 2\d\dms – 3\d\dms/)).toBeVisible();
  await page.mouse.move(0, 0);
  await viewShot(page, "trace-waterfall-zoomed");
  await page.getByRole("button", { name: "Reset zoom" }).click();
  await expect(page).not.toHaveURL(/view=/);
  await viewShot(page, "trace-waterfall-view");
  await page.getByRole("button", { name: "Dark theme" }).click();
  await viewShot(page, "trace-waterfall-dark");
  await page.getByRole("button", { name: "Light theme" }).click();
});

test("parallel and async spans leave the critical path; orphans become roots", async ({ page, seed }) => {
  // Its own org, so other pages' counts over Acme stay as seeded.
  const slug = `tr-${Date.now().toString(36)}`;
  const account = await signUpWithKey(seed.baseURL, { email: `${slug}@traces.test`, password: "correct horse battery", name: "Tara Trace", orgName: `Traces ${slug}`, orgSlug: slug });
  const traceId = "7d1c0ffee0000000000000000000abcd";
  const t0 = Date.now() - 5 * 60e3;
  const ns = (ms: number) => `${BigInt(Math.round(t0 + ms)) * 1_000_000n}`;
  const id = (n: number) => n.toString(16).padStart(16, "0");
  const mk = (n: number, parent: number | null, name: string, start: number, end: number, service = "search") => ({
    resource: { attributes: [{ key: "service.name", value: { stringValue: service } }] },
    scopeSpans: [
      {
        spans: [
          {
            traceId,
            spanId: id(n),
            ...(parent === null ? {} : { parentSpanId: id(parent) }),
            name,
            kind: 2,
            startTimeUnixNano: ns(start),
            endTimeUnixNano: ns(end),
            status: {},
            ...(n === 2 ? { links: [{ traceId, spanId: id(3), attributes: [{ key: "why", value: { stringValue: "retry of" } }] }] } : {}),
          },
        ],
      },
    ],
  });
  const body = {
    resourceSpans: [
      mk(1, null, "GET /search", 0, 300, "frontend"),
      mk(2, 1, "query index a", 10, 120), // overlapped by index b, which ends later
      mk(3, 1, "query index b", 12, 250),
      mk(4, 3, "cache get", 20, 30),
      mk(5, 3, "score results", 40, 240),
      mk(6, 1, "warm cache", 5, 40), // still running when index b starts
      mk(7, 1, "audit log", 260, 290),
      mk(8, 1, "send analytics", 280, 400), // fire and forget: outlives the root
      mk(9, 99, "late retry", 150, 170), // its parent never arrived
    ],
  };
  const res = await fetch(`${seed.otlpHttp}/v1/traces`, { method: "POST", headers: { "Content-Type": "application/json", "x-api-key": account.apiKey }, body: JSON.stringify(body) });
  expect(res.status, await res.text()).toBe(200);

  const login = await page.request.post("/api/v1/auth/login", { data: { email: account.email, password: account.password } });
  expect(login.status()).toBe(200);
  await page.goto(`/traces/${traceId}`);
  await expect(spanRows(page)).toHaveCount(9);
  // Roots in start order, each with its subtree: the orphan comes after the real root's.
  expect(await rowNames(page)).toEqual(["GET /search", "warm cache", "query index a", "query index b", "cache get", "score results", "audit log", "send analytics", "late retry"]);
  const rows = spanRows(page);
  expect(await nameX(rows.nth(8), "late retry")).toBe(await nameX(rows.nth(0), "GET /search"));
  expect(await nameX(rows.nth(4), "cache get")).toBe((await nameX(rows.nth(0), "GET /search")) + 2 * INDENT);
  await page.getByLabel("Critical path only").check();
  await expect(spanRows(page)).toHaveCount(5);
  expect(await rowNames(page)).toEqual(["GET /search", "query index b", "cache get", "score results", "audit log"]);
  await page.getByLabel("Critical path only").uncheck();
  // A link in the span panel.
  await page.getByRole("list", { name: "Spans" }).getByRole("button", { name: "query index a", exact: true }).click();
  const panel = page.getByRole("complementary", { name: "Span details" });
  await expect(panel.getByRole("link", { name: /span 0000000000000003/ })).toBeVisible();
  await expect(panel).toContainText("No events");
  await expect(panel).toContainText("No logs carry this span's id");
});

test("a 10 000-span trace stays responsive", async ({ page, seed, signIn, shot }) => {
  await page.addInitScript(() => {
    const w = window as unknown as { __longTasks: number[] };
    w.__longTasks = [];
    try {
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) w.__longTasks.push(e.duration);
      }).observe({ type: "longtask", buffered: true });
    } catch {
      /* no long task support: the figures stay empty */
    }
  });
  await signIn(seed.bulk, "/traces");
  const started = Date.now();
  await page.goto(`/traces/${seed.bulkTraceId}`);
  await expect(spanRows(page).first()).toBeVisible({ timeout: 30_000 });
  const firstRows = Date.now() - started;
  await expect(page.getByText("10,000 of 10,000 spans shown")).toBeVisible();
  const inDom = await spanRows(page).count();
  expect(inDom).toBeLessThan(500);

  // Scroll through the list: rows follow, the DOM stays small.
  const list = page.getByRole("list", { name: "Spans" });
  for (const y of [2000, 60_000, 150_000, 259_000, 0]) {
    await list.evaluate((el, top) => (el.scrollTop = top), y);
    await page.waitForTimeout(80);
  }
  await list.evaluate((el) => (el.scrollTop = el.scrollHeight));
  await expect(list.getByRole("button", { name: /^op \d+$/ }).last()).toBeVisible();
  expect(await spanRows(page).count()).toBeLessThan(500);
  await list.hover();
  for (let i = 0; i < 20; i++) await page.mouse.wheel(0, 1500);

  // Zoom twice with the minimap, then collapse all and expand all.
  const minimap = page.getByRole("img", { name: /Trace minimap/ });
  const box = (await minimap.boundingBox())!;
  for (const [a, b] of [
    [0.1, 0.5],
    [0.3, 0.35],
  ]) {
    await page.mouse.move(box.x + box.width * a, box.y + 20);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * b, box.y + 20, { steps: 4 });
    await page.mouse.up();
    await expect(page).toHaveURL(/view=/);
  }
  await page.getByRole("button", { name: "Collapse all" }).click();
  await expect(page.getByText("1 of 10,000 spans shown")).toBeVisible();
  await page.getByRole("button", { name: "Expand all" }).click();
  await expect(page.getByText("10,000 of 10,000 spans shown")).toBeVisible();
  await page.getByLabel("Critical path only").check();
  await expect(page.getByText(/of 10,000 spans shown/)).toBeVisible();
  await page.getByLabel("Critical path only").uncheck();
  await page.getByRole("button", { name: "Reset zoom" }).click();
  await shot("trace-waterfall-10k");

  const tasks = await page.evaluate(() => (window as unknown as { __longTasks: number[] }).__longTasks);
  const total = tasks.reduce((a, b) => a + b, 0);
  const max = tasks.reduce((a, b) => Math.max(a, b), 0);
  console.log(
    `10 000-span trace: first rows after ${firstRows} ms; ${inDom} of 10000 rows in the DOM; long tasks: ${tasks.length}, total ${Math.round(total)} ms, max ${Math.round(max)} ms`,
  );
  expect(max).toBeLessThan(1500);
});
