// The hosts pages against the API: the table's latest CPU per host as OQL answers it, sorting
// kept in the URL, and a host's page with its four charts and its newest logs.
import { expect, oqlAs, test } from "./fixtures";
import { formatPct } from "../src/lib/hosts";

const isoSec = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");

test("the hosts table shows each host's latest CPU, memory and disk as OQL answers them", async ({ page, seed, signIn, shot }) => {
  const from = isoSec(seed.now - 60 * 60e3 - 60e3);
  const to = isoSec(seed.now + 60e3);
  await signIn(seed.admin, `/hosts?from=${from}&to=${to}`);
  await expect(page.getByRole("heading", { level: 1, name: "Hosts" })).toBeVisible();
  const table = page.getByRole("table");
  await expect(table.getByRole("row")).toHaveCount(seed.hosts.length + 1);
  const headers = (await table.getByRole("columnheader").allInnerTexts()).map((h) => h.replace(/[▲▼]/g, "").trim());
  expect(headers).toEqual(["Host", "CPU", "Memory", "Disk", "Load 1m", "Last seen"]);
  for (const host of seed.hosts) {
    const row = table.getByRole("row").filter({ has: page.getByRole("link", { name: host, exact: true }) });
    const cells = (await row.getByRole("cell").allInnerTexts()).map((c) => c.trim());
    for (const [column, metric] of [
      ["CPU", "cpu_usage_pct"],
      ["Memory", "mem_used_pct"],
      ["Disk", "disk_used_pct"],
    ]) {
      // The newest point of that metric for that host, straight from OQL.
      const latest = await oqlAs(page, seed.admin, `SELECT timestamp, ${metric} FROM host WHERE host = $h AND ${metric} IS NOT NULL ORDER BY timestamp DESC LIMIT 1`, { from, to, params: { h: host } });
      expect(cells[headers.indexOf(column)], `${host} ${column}`).toBe(formatPct(latest.rows[0][1] as number));
    }
    expect(cells[headers.indexOf("Last seen")]).toMatch(/ago$/);
  }
  await shot("hosts-seed");
});

test("sorting by a column is kept in the URL", async ({ page, seed, signIn }) => {
  await signIn(seed.admin, "/hosts");
  const table = page.getByRole("table");
  await expect(table.getByRole("row")).toHaveCount(seed.hosts.length + 1);
  const names = () => table.getByRole("row").getByRole("link").allInnerTexts();
  expect(await names()).toEqual([...seed.hosts].sort());
  await table.getByRole("button", { name: "CPU" }).click();
  await expect(page).toHaveURL(/sort=cpu_usage_pct/);
  await expect(table.getByRole("columnheader", { name: "CPU" })).toHaveAttribute("aria-sort", "descending");
  // The seed gives db-1 the busiest CPU, web-1 the idlest.
  expect(await names()).toEqual(["db-1", "web-2", "web-1"]);
  await table.getByRole("button", { name: "CPU" }).click();
  await expect(table.getByRole("columnheader", { name: "CPU" })).toHaveAttribute("aria-sort", "ascending");
  expect(await names()).toEqual(["web-1", "web-2", "db-1"]);
  await page.reload();
  await expect(table.getByRole("columnheader", { name: "CPU" })).toHaveAttribute("aria-sort", "ascending");
});

test("a host's page shows four charts and its newest logs", async ({ page, seed, signIn, shot }) => {
  await signIn(seed.admin, "/hosts");
  await page.getByRole("link", { name: "web-1", exact: true }).click();
  await expect(page).toHaveURL(/\/hosts\/web-1$/);
  await expect(page.getByRole("heading", { level: 1, name: "web-1" })).toBeVisible();
  for (const name of ["CPU", "Memory", "Disk", "Load"]) await expect(page.getByRole("figure", { name: `${name} of web-1` })).toBeVisible();
  await expect(page.getByRole("figure")).toHaveCount(4);
  // The logs table: the same newest rows OQL gives for the host.
  const newest = await oqlAs(page, seed.admin, "SELECT body FROM logs WHERE host = 'web-1' ORDER BY timestamp DESC LIMIT 25", { from: "now-1h", to: "now" });
  const logs = page.getByRole("table");
  await expect(logs.getByRole("row")).toHaveCount(newest.rows.length + 1);
  await expect(logs.getByRole("row").nth(1)).toContainText(String(newest.rows[0][0]));
  const open = new URL((await page.getByRole("link", { name: "Open in Logs" }).getAttribute("href"))!, "http://x");
  expect(open.pathname).toBe("/logs");
  expect(open.searchParams.get("q")).toBe("host = 'web-1'");
  await shot("host-detail-light");
  await page.getByRole("button", { name: /theme/ }).click();
  await page.waitForTimeout(300);
  await shot("host-detail-dark");
  await page.getByRole("button", { name: /theme/ }).click();
});

test("a host without data in the range says so", async ({ page, seed, signIn }) => {
  await signIn(seed.admin, "/hosts/no-such-host");
  await expect(page.getByText("No metrics from")).toBeVisible();
  await expect(page.getByText("No logs from no-such-host in this range.")).toBeVisible();
});
