// Heartbeats: a job pinging with seed.admin's API key shows up as up with its pings and run
// duration; its schedule is edited in the UI (every, then cron with a time zone, with a
// bad cron expression refused at its field) and the change is what the API answers; the
// empty state of an org without monitors says how to ping.
import { expect, test, tokenFor } from "./fixtures";

test("a pinged heartbeat shows up as up, and its schedule is edited", async ({ page, seed, signIn, shot }) => {
  const name = `e2e-backup-${Date.now().toString(36)}`;
  const key = { "x-api-key": seed.admin.apiKey };
  // Two runs, each a start and a success with the job's output.
  let done;
  for (const [run, ms] of [["r1", 300], ["r2", 700]] as const) {
    const start = await page.request.post(`/api/v1/heartbeat/${name}/start?run_id=${run}`, { headers: key });
    expect(start.status(), await start.text()).toBe(202);
    await page.waitForTimeout(ms);
    done = await page.request.post(`/api/v1/heartbeat/${name}?run_id=${run}`, { headers: { ...key, "Content-Type": "text/plain" }, data: `backed up 42 files in ${run}\n` });
    expect(done.status(), await done.text()).toBe(202);
  }
  expect((await done!.json()).monitor.state).toBe("up");
  // A second job that failed, so the list shows more than one state.
  const failed = await page.request.post(`/api/v1/heartbeat/${name}-report/fail`, { headers: { ...key, "Content-Type": "text/plain" }, data: "exit status 1: SMTP refused" });
  expect(failed.status(), await failed.text()).toBe(202);

  await signIn(seed.admin, "/heartbeats");
  await expect(page.getByRole("heading", { name: "Heartbeats", level: 1 })).toBeVisible();
  const row = page.getByRole("table", { name: "Heartbeat monitors" }).getByRole("row", { name: new RegExp(`^${name} `) });
  await expect(row.getByText("up", { exact: true })).toBeVisible();
  await expect(row).toContainText("every 1h");
  await expect(row).toContainText("5m");
  await row.getByRole("link", { name }).click();
  await expect(page).toHaveURL(new RegExp(`name=${name}`));

  const pings = page.getByRole("table", { name: "Recent pings" });
  await expect(pings.getByRole("row")).toHaveCount(5);
  await expect(pings.getByRole("row", { name: /success r2/ })).toContainText("backed up 42 files in r2");
  await expect(page.getByRole("figure", { name: `Run durations of ${name}` })).toBeVisible();
  await expect(page.getByText(/Last run \d+ms \(run r2\) · average/)).toBeVisible();
  await expect(page.getByText(`curl -X POST -H 'x-api-key: <your API key>'`).first()).toBeVisible();

  await expect(page.getByRole("table", { name: "Heartbeat monitors" }).getByRole("row", { name: new RegExp(`^${name}-report `) })).toContainText("failed");

  // Every 5 minutes with 2 minutes of grace.
  await page.getByRole("button", { name: "Edit schedule" }).click();
  await shot("heartbeats-edit");
  await page.getByLabel("Every", { exact: true }).fill("5m");
  await page.getByLabel("Grace", { exact: true }).fill("2m");
  await page.getByRole("button", { name: "Save schedule" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Schedule saved." })).toBeVisible();
  await expect(row).toContainText("every 5m");
  await expect(row).toContainText("2m");
  await shot("heartbeats");

  // A cron expression that is not one is refused at its field; a good one with a zone saves.
  await page.getByRole("button", { name: "Edit schedule" }).click();
  await page.getByLabel("Schedule type").selectOption("cron");
  await page.getByLabel("Cron expression").fill("61 2 * *");
  await page.getByRole("button", { name: "Save schedule" }).click();
  await expect(page.getByLabel("Cron expression")).toHaveAttribute("aria-invalid", "true");
  await expect(page.getByLabel("Cron expression")).toHaveAccessibleDescription(/is not a valid cron expression|nor a cron expression/);
  await page.getByLabel("Cron expression").fill("30 2 * * *");
  await page.getByLabel("Time zone").fill("Europe/Berlin");
  await page.getByRole("button", { name: "Save schedule" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Schedule saved." })).toBeVisible();
  await expect(row).toContainText("cron 30 2 * * * (Europe/Berlin)");

  const token = await tokenFor(page, seed.admin);
  const saved = await (await page.request.get(`/api/v1/heartbeats/${name}`, { headers: { Authorization: `Bearer ${token}` } })).json();
  expect([saved.schedule, saved.timezone, saved.grace_secs]).toEqual(["30 2 * * *", "Europe/Berlin", 120]);

  // Pause and resume, then delete.
  await page.getByRole("button", { name: "Pause" }).click();
  await expect(row.getByText("paused", { exact: true }).first()).toBeVisible();
  await page.getByRole("button", { name: "Resume" }).click();
  await expect(row.getByText("paused", { exact: true })).toHaveCount(0);
  await page.getByRole("button", { name: "Delete" }).click();
  await page.getByRole("button", { name: "Yes, delete" }).click();
  await expect(page.getByRole("row", { name: new RegExp(`^${name} `) })).toHaveCount(0);
  const gone = await page.request.delete(`/api/v1/heartbeats/${name}-report`, { headers: { Authorization: `Bearer ${token}` } });
  expect(gone.status()).toBe(204);
});

test("an org without monitors is told how to ping", async ({ page, seed, signIn, shot }) => {
  await signIn(seed.bulk, "/heartbeats");
  await expect(page.getByRole("heading", { name: "No heartbeat monitors yet" })).toBeVisible();
  await expect(page.getByText(/curl -X POST -H 'x-api-key: <your API key>' http:\/\/127\.0\.0\.1:\d+\/api\/v1\/heartbeat\/nightly-backup/)).toBeVisible();
  await expect(page.getByRole("button", { name: "Copy command" })).toBeVisible();
  await shot("heartbeats-empty");
});
