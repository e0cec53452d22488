// Every page of SPEC §12 opens signed in, shows its heading, and logs no console error,
// page error or CSP violation (the fixture fails the test on any). One screenshot per page.
import { expect, test } from "./fixtures";

const PAGES: [string, RegExp][] = [
  ["/", /overview/i],
  ["/logs", /logs/i],
  ["/traces", /traces/i],
  ["/hosts", /hosts/i],
  ["/schema", /schema/i],
  ["/query", /query/i],
  ["/dashboards", /dashboards/i],
  ["/alerts", /alert/i],
  ["/heartbeats", /heartbeats/i],
  ["/settings/org", /organization|settings/i],
];

test("every page opens without errors", async ({ page, seed, signIn, shot }) => {
  await signIn(seed.admin, "/");
  for (const [path, heading] of PAGES) {
    await page.goto(path);
    await expect(page.getByRole("heading", { level: 1, name: heading }).first()).toBeVisible();
    await page.waitForLoadState("networkidle");
    await shot(`page${path.replace(/\//g, "_") || "_root"}`);
  }
});

test("the primary navigation has every link by name", async ({ page, seed, signIn }) => {
  await signIn(seed.admin, "/");
  const nav = page.getByRole("navigation", { name: "Primary" });
  for (const name of ["Overview", "Logs", "Traces", "Hosts", "Schema", "Query", "Dashboards", "Alerts", "Heartbeats", "Settings"]) {
    await expect(nav.getByRole("link", { name, exact: true })).toBeVisible();
  }
  await nav.getByRole("link", { name: "Traces", exact: true }).click();
  await expect(page).toHaveURL(/\/traces$/);
});

test("an unknown page says so inside the frame", async ({ page, seed, signIn }) => {
  await signIn(seed.admin, "/no-such-page");
  await expect(page.getByRole("heading", { name: "Page not found" })).toBeVisible();
});

test("dark theme switches and is kept", async ({ page, seed, signIn }) => {
  await signIn(seed.admin, "/");
  const html = page.locator("html");
  const before = await html.getAttribute("data-theme");
  await page.getByRole("button", { name: /theme/ }).click();
  await expect(html).not.toHaveAttribute("data-theme", before ?? "");
  await page.reload();
  await expect(html).not.toHaveAttribute("data-theme", before ?? "");
});
