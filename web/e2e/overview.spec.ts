// The overview against the API: each service's requests, rate, error % and p95 as OQL answers
// them over the same pinned range, the host strip, links into traces and logs, and a fully
// populated overview (its own org: services, hosts, annotations, heartbeats, a firing alert)
// screenshotted in light and dark themes.
import type { Page } from "@playwright/test";
import { expect, oqlAs, test, tokenFor } from "./fixtures";
import { signUpWithKey, rng } from "./seed";
import { formatDuration, formatNumber } from "../src/lib/format";
import { formatErrorPercent, formatRate, ratePerSecond } from "../src/lib/overview";

const isoSec = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");

/** The cells of the services table's row for `service`, keyed by column header. */
async function serviceRow(page: Page, service: string): Promise<Record<string, string>> {
  const table = page.getByRole("table");
  const headers = (await table.getByRole("columnheader").allInnerTexts()).map((h) => h.trim());
  const row = table.getByRole("row").filter({ has: page.getByRole("link", { name: service, exact: true }) });
  await expect(row).toHaveCount(1);
  const cells = (await row.getByRole("cell").allInnerTexts()).map((c) => c.trim());
  return Object.fromEntries(headers.map((h, i) => [h, cells[i]]));
}

test("each service's requests, rate, error % and p95 match OQL over the same range", async ({ page, seed, signIn, shot }) => {
  // An absolute range around the seed so the page and OQL read the very same rows.
  const from = isoSec(seed.now - 55 * 60e3);
  // Ending at the seed's own time, so spans other tests send later stay out of it.
  const to = isoSec(seed.now + 1000);
  const rangeMs = Date.parse(to) - Date.parse(from);
  // Requests are server, consumer and root spans (src/lib/overview.ts REQUEST_FILTER).
  const requests = "(kind IN ('server', 'consumer') OR parent_span_id IS NULL)";
  const total = await oqlAs(page, seed.admin, `SELECT service, count(*) AS n, p95(duration_ms) AS p95 FROM spans WHERE ${requests} GROUP BY service`, { from, to });
  const failed = await oqlAs(page, seed.admin, `SELECT service, count(*) AS n FROM spans WHERE ${requests} AND status = 'error' GROUP BY service`, { from, to });
  const errors = new Map(failed.rows.map((r) => [r[0] as string, r[1] as number]));
  expect(total.rows.map((r) => r[0]).sort()).toEqual([...seed.services].sort());

  await signIn(seed.admin, `/?from=${from}&to=${to}`);
  await expect(page.getByRole("heading", { level: 1, name: "Overview" })).toBeVisible();
  await expect(page.getByRole("table")).toBeVisible();
  for (const [service, n, p95] of total.rows as [string, number, number][]) {
    const cells = await serviceRow(page, service);
    expect(cells.Requests, service).toBe(formatNumber(n));
    expect(cells.Rate, service).toBe(formatRate(ratePerSecond(n, rangeMs)));
    expect(cells.Errors, service).toBe(formatNumber(errors.get(service) ?? 0));
    expect(cells["Error %"], service).toBe(formatErrorPercent(((errors.get(service) ?? 0) / n) * 100));
    expect(cells.p95, service).toBe(formatDuration(p95));
  }
  // The org's thresholds are shown with the colours they give.
  const legend = page.getByLabel("Error rate thresholds");
  await expect(legend).toContainText("warning ≥ 1%");
  await expect(legend).toContainText("critical ≥ 5%");
  await expect(legend.getByRole("link", { name: "change" })).toHaveAttribute("href", "/settings/org");

  // The header figures add the services up.
  const sum = (total.rows as [string, number][]).reduce((a, r) => a + r[1], 0);
  await expect(page.getByRole("heading", { name: /Requests/ })).toContainText(`${formatNumber(sum)} in range`);
  await expect(page.getByRole("figure", { name: "Request rate" })).toBeVisible();
  await expect(page.getByRole("figure", { name: "Error rate" })).toBeVisible();

  // The host strip: every seeded host with its three meters, linking to its page.
  const strip = page.getByRole("list", { name: "Hosts" });
  for (const host of seed.hosts) {
    const item = strip.getByRole("listitem").filter({ has: page.getByRole("link", { name: host, exact: true }) });
    await expect(item).toHaveCount(1);
    for (const meter of ["CPU", "Memory", "Disk"]) await expect(item.getByRole("meter", { name: meter })).toHaveAttribute("aria-valuetext", /^\d+\.\d%$/);
  }
  await expect(strip.getByRole("listitem")).toHaveCount(seed.hosts.length);
  await shot("overview-seed");
});

test("services link to their traces and logs, hosts to their page, keeping the range", async ({ page, seed, signIn }) => {
  const from = isoSec(seed.now - 55 * 60e3);
  const to = isoSec(seed.now + 60e3);
  await signIn(seed.admin, `/?from=${from}&to=${to}`);
  const traces = page.getByRole("link", { name: "Traces of checkout" });
  const href = new URL((await traces.getAttribute("href"))!, "http://x");
  expect(href.pathname).toBe("/traces");
  expect(href.searchParams.get("service")).toBe("checkout");
  expect(href.searchParams.get("from")).toBe(from);
  const logs = new URL((await page.getByRole("link", { name: "Logs of checkout" }).getAttribute("href"))!, "http://x");
  expect(logs.pathname).toBe("/logs");
  expect(logs.searchParams.get("q")).toBe("service = 'checkout'");
  await page.getByRole("list", { name: "Hosts" }).getByRole("link", { name: "db-1", exact: true }).click();
  await expect(page).toHaveURL(new RegExp(`/hosts/db-1\\?from=${encodeURIComponent(from)}`));
  await expect(page.getByRole("heading", { level: 1, name: "db-1" })).toBeVisible();
});

test("an org without data sees how to send it in every section, and viewers no edit links", async ({ page, seed }) => {
  // Signed up through the page's own request context, so the browser holds the cookie.
  const res = await page.request.post(`${seed.baseURL}/api/v1/auth/signup`, {
    data: { org_name: "Empty Inc", org_slug: "empty-inc", email: "eve@empty.test", password: "a long enough password", name: "Eve" },
  });
  expect(res.status(), await res.text()).toBe(201);
  await page.goto("/");
  await expect(page.getByRole("heading", { level: 1, name: "Overview" })).toBeVisible();
  await expect(page.getByText("No requests in this range.")).toBeVisible();
  await expect(page.getByText(/OTEL_EXPORTER_OTLP_ENDPOINT=http:\/\/[^:]+:4318/)).toBeVisible();
  await expect(page.getByText("No host metrics yet.")).toBeVisible();
  await expect(page.getByText("No monitors yet.")).toBeVisible();
  await expect(page.getByText("No annotations in this range.")).toBeVisible();
  await expect(page.getByText("No alert is firing.")).toBeVisible();
  // Editors get the way to make a rule, admins the way to change the thresholds...
  await expect(page.getByRole("link", { name: "Create a rule" })).toBeVisible();

  // ...viewers neither.
  const token = (await res.json()).access_token;
  const invite = await page.request.post(`${seed.baseURL}/api/v1/invites`, { headers: { Authorization: `Bearer ${token}` }, data: { email: "vic@empty.test", role: "viewer" } });
  expect(invite.status(), await invite.text()).toBe(201);
  const link = new URL((await invite.json()).invite_url);
  const accept = await page.request.post(`${seed.baseURL}/api/v1/invites/accept`, { data: { token: link.searchParams.get("token"), name: "Vic", password: "a long enough password" } });
  expect(accept.status(), await accept.text()).toBe(201);
  // One request of data, so the services table and its threshold legend show.
  const key = await page.request.post(`${seed.baseURL}/api/v1/api-keys`, { headers: { Authorization: `Bearer ${token}` }, data: { name: "one span" } });
  expect(key.status(), await key.text()).toBe(201);
  const t = Date.now() - 60e3;
  const span = { traceId: "0af7651916cd43dd8448eb211c80319c", spanId: "b7ad6b7169203331", name: "GET /", kind: 2, startTimeUnixNano: `${BigInt(t) * 1_000_000n}`, endTimeUnixNano: `${BigInt(t + 12) * 1_000_000n}`, status: { code: 0 } };
  const sent = await page.request.post(`${seed.otlpHttp}/v1/traces`, {
    headers: { "x-api-key": (await key.json()).key },
    data: { resourceSpans: [{ resource: { attributes: [{ key: "service.name", value: { stringValue: "lonely" } }] }, scopeSpans: [{ spans: [span] }] }] },
  });
  expect(sent.status(), await sent.text()).toBe(200);
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login/);
  const login = await page.request.post("/api/v1/auth/login", { data: { email: "vic@empty.test", password: "a long enough password" } });
  expect(login.status()).toBe(200);
  await page.goto("/");
  await expect(page.getByTitle(/^Vic <vic@empty.test> in Empty Inc/)).toBeVisible();
  await expect(async () => {
    await page.reload();
    await expect(page.getByRole("link", { name: "lonely", exact: true })).toBeVisible({ timeout: 2000 });
  }).toPass({ timeout: 30_000 });
  await expect(page.getByLabel("Error rate thresholds")).toBeVisible();
  await expect(page.getByText("No alert is firing.")).toBeVisible();
  await expect(page.getByRole("link", { name: "Create a rule" })).toHaveCount(0);
  await expect(page.getByRole("link", { name: "change" })).toHaveCount(0);
});

// ---- a populated org for the front-page screenshots ------------------------------------

const attr = (key: string, value: string | number) => ({ key, value: typeof value === "string" ? { stringValue: value } : { doubleValue: value } });
const ns = (ms: number) => `${BigInt(Math.round(ms)) * 1_000_000n}`;
const hex = (r: () => number, bytes: number) => Array.from({ length: bytes }, () => Math.floor(r() * 256).toString(16).padStart(2, "0")).join("");

/** Services with their traffic over the hour, error share and typical latency. */
const DEMO_SERVICES: { name: string; host: string; requests: number; errorEvery: number; ms: number }[] = [
  { name: "frontend", host: "web-1", requests: 1400, errorEvery: 350, ms: 45 },
  { name: "search", host: "web-2", requests: 900, errorEvery: 0, ms: 28 },
  { name: "checkout", host: "api-1", requests: 620, errorEvery: 50, ms: 120 },
  { name: "payments", host: "api-1", requests: 380, errorEvery: 16, ms: 240 },
  { name: "inventory", host: "db-1", requests: 260, errorEvery: 0, ms: 18 },
];
const DEMO_HOSTS: { name: string; cpu: number; mem: number; disk: number; load: number }[] = [
  { name: "web-1", cpu: 34, mem: 52, disk: 41, load: 1.2 },
  { name: "web-2", cpu: 29, mem: 48, disk: 40, load: 0.9 },
  { name: "api-1", cpu: 61, mem: 71, disk: 58, load: 2.4 },
  { name: "db-1", cpu: 47, mem: 66, disk: 83, load: 1.7 },
  { name: "cache-1", cpu: 12, mem: 92, disk: 22, load: 0.3 },
];

async function post(url: string, body: unknown, headers: Record<string, string>) {
  const res = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json", ...headers }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`POST ${url}: ${res.status} ${await res.text()}`);
  return res.text();
}

async function populateDemo(seedInfo: { baseURL: string; otlpHttp: string }) {
  const account = await signUpWithKey(seedInfo.baseURL, { email: "dana@demo.test", password: "correct horse battery", name: "Dana Demo", orgName: "Demo Shop", orgSlug: "demo-shop" });
  const key = { "x-api-key": account.apiKey };
  const now = Date.now();
  const r = rng(7);
  // Spans: one server span per request, traffic rising and falling over the hour.
  for (const svc of DEMO_SERVICES) {
    const spans = Array.from({ length: svc.requests }, (_, i) => {
      const u = i / svc.requests;
      const t = now - 58 * 60e3 + (u + 0.15 * Math.sin(u * Math.PI * 2) / Math.PI) * 57 * 60e3;
      const dur = svc.ms * (0.4 + r() * 0.9) * (r() < 0.05 ? 6 : 1);
      const error = svc.errorEvery > 0 && i % svc.errorEvery === 7;
      return {
        traceId: hex(r, 16),
        spanId: hex(r, 8),
        name: `${svc.name === "frontend" ? "GET" : "POST"} /${svc.name}`,
        kind: 2,
        startTimeUnixNano: ns(t),
        endTimeUnixNano: ns(t + dur),
        status: error ? { code: 2, message: "failed" } : { code: 0 },
      };
    });
    const resource = { attributes: [attr("service.name", svc.name), attr("host.name", svc.host)] };
    await post(`${seedInfo.otlpHttp}/v1/traces`, { resourceSpans: [{ resource, scopeSpans: [{ spans }] }] }, key);
  }
  // Host metrics every 30 s for the hour.
  const metrics = {
    resourceMetrics: DEMO_HOSTS.map((h, k) => {
      const gauge = (name: string, base: number, spread: number, attributes: unknown[] = []) => ({
        name,
        gauge: {
          dataPoints: Array.from({ length: 120 }, (_, i) => ({
            timeUnixNano: ns(now - 60 * 60e3 + i * 30e3),
            asDouble: Math.max(0, base + Math.sin(i / 8 + k) * spread + r() * spread * 0.4),
            attributes,
          })),
        },
      });
      return {
        resource: { attributes: [attr("host.name", h.name), attr("service.name", "hexcovery-agent")] },
        scopeMetrics: [
          {
            metrics: [
              gauge("host.cpu_usage_pct", h.cpu, 8),
              gauge("host.mem_used_pct", h.mem, 2),
              gauge("host.disk_used_pct", h.disk, 0.3, [attr("mountpoint", "/")]),
              gauge("host.load_1m", h.load, 0.3),
            ],
          },
        ],
      };
    }),
  };
  await post(`${seedInfo.otlpHttp}/v1/metrics`, metrics, key);
  // Deploys and a drill, as CI would post them.
  const annotations = [
    { name: "deploy/checkout", title: "checkout v2.14.0", tags: ["deploy"], time: now - 41 * 60e3 },
    { name: "deploy/payments", title: "payments v1.9.3", tags: ["deploy"], time: now - 24 * 60e3 },
    { name: "ops/db-1", title: "db-1 failover drill", tags: ["ops", "db"], time: now - 12 * 60e3, time_end: now - 8 * 60e3 },
  ];
  for (const a of annotations) await post(`${seedInfo.baseURL}/api/v1/annotations`, a, key);
  // Cron jobs: three fine, one failed, one paused.
  for (const name of ["nightly-backup", "invoice-export", "search-reindex", "report-mailer"]) await post(`${seedInfo.baseURL}/api/v1/heartbeat/${name}`, {}, key);
  await post(`${seedInfo.baseURL}/api/v1/heartbeat/billing-sync/fail`, {}, key);
  return account;
}

test("a populated overview, light and dark", async ({ page, seed, signIn, shot }) => {
  test.setTimeout(120_000);
  const account = await populateDemo(seed);
  const token = await tokenFor(page, account);
  const auth = { Authorization: `Bearer ${token}` };
  const paused = await page.request.patch(`${seed.baseURL}/api/v1/heartbeats/report-mailer`, { headers: auth, data: { paused: true } });
  expect(paused.status(), await paused.text()).toBe(200);
  const rule = await page.request.post(`${seed.baseURL}/api/v1/alerts`, {
    headers: auth,
    data: {
      name: "Payments failing",
      query: "SELECT service, count(*) AS value FROM spans WHERE status = 'error' GROUP BY service",
      window: "1h",
      interval: "10s",
      condition: { op: ">", threshold: 15 },
      labels: { team: "payments" },
    },
  });
  expect(rule.status(), await rule.text()).toBe(201);
  const ruleId = (await rule.json()).id;
  await expect
    .poll(async () => (await (await page.request.get(`${seed.baseURL}/api/v1/alert-instances?state=firing`, { headers: auth })).json()).alert_instances.length, { timeout: 60_000, intervals: [1000] })
    .toBeGreaterThan(0);
  // Spans become queryable after the flush.
  await expect
    .poll(async () => (await oqlAs(page, account, "SELECT count(*) FROM spans")).rows[0][0], { timeout: 30_000 })
    .toBe(DEMO_SERVICES.reduce((n, s) => n + s.requests, 0));

  await page.setViewportSize({ width: 1440, height: 1000 });
  await signIn(account, "/");
  await expect(page.getByRole("link", { name: "payments", exact: true })).toBeVisible();
  await expect(page.getByRole("link", { name: "Payments failing" })).toHaveAttribute("href", `/alerts/${ruleId}`);
  await expect(page.getByRole("list", { name: "Heartbeat states" })).toContainText("1 failed");
  await expect(page.getByRole("link", { name: "billing-sync" })).toBeVisible();
  await expect(page.getByText("payments v1.9.3")).toBeVisible();
  await expect(page.getByRole("list", { name: "Hosts" }).getByRole("listitem")).toHaveCount(DEMO_HOSTS.length);
  await page.waitForLoadState("networkidle");
  if ((await page.locator("html").getAttribute("data-theme")) === "dark") await page.getByRole("button", { name: /theme/ }).click();
  await shot("overview-light");
  await page.getByRole("button", { name: /theme/ }).click();
  await expect(page.locator("html")).toHaveAttribute("data-theme", "dark");
  await page.waitForTimeout(300);
  await shot("overview-dark");
  await page.getByRole("button", { name: /theme/ }).click();
  await page.goto("/hosts");
  await expect(page.getByRole("row")).toHaveCount(DEMO_HOSTS.length + 1);
  await shot("hosts-demo");
});
