// Settings: an API key shown once, used for ingest and refused after revoking; 2FA set up
// with a locally drawn QR code and a computed TOTP code; org settings kept across a reload;
// a viewer seeing no edit controls and no admin-only sections; a screenshot of every
// section with data. Each test signs up its own org so seed.admin and its org stay as the
// other specs expect them.
import { createHmac } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { APIRequestContext } from "@playwright/test";
import { expect, test } from "./fixtures";
import type { Account } from "./seed";

/** RFC 6238 TOTP (SHA-1, 6 digits, 30 s) from a base32 secret, as an authenticator app. */
function totp(secret: string, at = Date.now()): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of secret.replace(/=+$/, "").toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, "0");
  const key = Buffer.from(bits.match(/.{8}/g)!.map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 30000)));
  const h = createHmac("sha1", key).update(counter).digest();
  const o = h[h.length - 1] & 0xf;
  return String(((h.readUInt32BE(o) & 0x7fffffff) % 1_000_000)).padStart(6, "0");
}

const PASSWORD = "a long enough password";
let orgs = 0;

/** Signs up a fresh org over the API; answers its admin and an access token. */
async function freshOrg(request: APIRequestContext, baseURL: string, name: string): Promise<{ account: Account; token: string }> {
  const slug = `${name.toLowerCase().replace(/[^a-z0-9]+/g, "-")}-${Date.now().toString(36)}-${orgs++}`;
  const email = `admin@${slug}.test`;
  const res = await request.post(`${baseURL}/api/v1/auth/signup`, { data: { org_name: name, org_slug: slug, email, password: PASSWORD, name: `${name} Admin` } });
  expect(res.status(), await res.text()).toBe(201);
  const body = await res.json();
  return { account: { email, password: PASSWORD, name: `${name} Admin`, orgName: name, orgSlug: slug, apiKey: "" }, token: body.access_token };
}

/** Invites `email` as `role` and accepts the invite (token from the create answer's link). */
async function addUser(request: APIRequestContext, baseURL: string, token: string, email: string, role: string, name: string): Promise<Account> {
  const invite = await request.post(`${baseURL}/api/v1/invites`, { headers: { Authorization: `Bearer ${token}` }, data: { email, role } });
  expect(invite.status(), await invite.text()).toBe(201);
  const link = new URL((await invite.json()).invite_url);
  const accept = await request.post(`${baseURL}/api/v1/invites/accept`, { data: { token: link.searchParams.get("token"), name, password: PASSWORD } });
  expect(accept.status(), await accept.text()).toBe(201);
  return { email, password: PASSWORD, name, orgName: "", orgSlug: "", apiKey: "" };
}

/** One OTLP/HTTP JSON log record. */
function logsBody(service: string, message: string) {
  return {
    resourceLogs: [
      {
        resource: { attributes: [{ key: "service.name", value: { stringValue: service } }] },
        scopeLogs: [{ logRecords: [{ timeUnixNano: `${BigInt(Date.now()) * 1_000_000n}`, severityText: "INFO", severityNumber: 9, body: { stringValue: message } }] }],
      },
    ],
  };
}

/** A small trace of `n` spans over OTLP/HTTP JSON. */
function spansBody(service: string, n: number) {
  const now = BigInt(Date.now()) * 1_000_000n;
  const traceId = [...Array(32)].map((_, i) => "0123456789abcdef"[(i * 7 + n) % 16]).join("");
  const spans = [...Array(n)].map((_, i) => ({
    traceId,
    spanId: String(i + 1).padStart(16, "0"),
    name: `step ${i}`,
    kind: 1,
    startTimeUnixNano: `${now - BigInt(n - i) * 1_000_000n}`,
    endTimeUnixNano: `${now}`,
    status: { code: 0 },
  }));
  return { resourceSpans: [{ resource: { attributes: [{ key: "service.name", value: { stringValue: service } }] }, scopeSpans: [{ spans }] }] };
}

test("an API key is shown once with Copy, ingests, and is refused after revoking", async ({ page, context, request, baseURL, seed, signIn, shot }) => {
  const { account } = await freshOrg(request, baseURL!, "Keys Co");
  await context.grantPermissions(["clipboard-read", "clipboard-write"]);
  await signIn(account, "/settings/api-keys");
  await expect(page.getByRole("heading", { name: "API keys", level: 2 })).toBeVisible();
  await page.getByLabel("Key name").fill("ci ingest");
  await page.getByRole("button", { name: "Create key" }).click();

  const box = page.getByRole("region", { name: "New API key" });
  await expect(box).toContainText("won't be shown again");
  const key = (await box.getByText(/^hxk_/).textContent())!.trim();
  expect(key).toMatch(/^hxk_\w{20,}/);
  await box.getByRole("button", { name: "Copy", exact: true }).click();
  await expect(box.getByRole("button", { name: "Copied", exact: true })).toBeVisible();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(key);
  await shot("settings-api-key-created");

  // The key works where keys go: OTLP ingest and the OQL API.
  const ingest = () => request.post(`${seed.otlpHttp}/v1/logs`, { headers: { "x-api-key": key }, data: logsBody("key-test", "hello from a new key") });
  expect((await ingest()).status()).toBe(200);
  const dsl = await request.post(`${baseURL}/api/v1/dsl`, { headers: { "X-API-Key": key }, data: { query: "SELECT count(*) FROM logs LAST 1h" } });
  expect(dsl.status(), await dsl.text()).toBe(200);

  // Shown once: gone after "I have copied it" and after a reload; the list keeps the prefix.
  await box.getByRole("button", { name: "I have copied it" }).click();
  await expect(box).toHaveCount(0);
  await page.reload();
  const row = page.getByRole("row", { name: /ci ingest/ });
  await expect(row).toBeVisible();
  await expect(row).toContainText(key.slice(0, 8));
  await expect(page.getByText(key)).toHaveCount(0);

  await row.getByRole("button", { name: "Revoke" }).click();
  await page.getByRole("button", { name: "Revoke key" }).click();
  await expect(page.getByRole("row", { name: /ci ingest/ })).toHaveCount(0);
  await expect(page.getByText("No API keys.")).toBeVisible();
  expect((await ingest()).status()).toBe(401);
});

test("2FA setup shows a local QR code and enabling with a code and the password shows recovery codes", async ({ page, request, baseURL, signIn, shot }) => {
  const { account } = await freshOrg(request, baseURL!, "Twofa Co");
  const remote: string[] = [];
  page.on("request", (r) => {
    if (!r.url().startsWith(baseURL!)) remote.push(r.url());
  });
  await signIn(account, "/settings/security");
  const setup = page.getByRole("region", { name: "Set up two-factor authentication" });
  await setup.getByRole("button", { name: "Set up two-factor authentication" }).click();
  const qr = page.getByRole("img", { name: "QR code for your authenticator app" });
  await expect(qr).toBeVisible();
  // Drawn as SVG here, not fetched from anywhere.
  expect(await qr.evaluate((el) => el.tagName.toLowerCase())).toBe("svg");
  expect(await qr.locator("path").getAttribute("d")).toMatch(/^M4 4h7v1h-7z/);
  const secret = (await setup.getByLabel("Secret").textContent())!.replace(/\s+/g, "");
  expect(secret).toMatch(/^[A-Z2-7]{16,}$/);
  await shot("settings-2fa-setup");

  // Turning 2FA on asks for the password too (a wrong one is refused: tests/totp.rs); a
  // wrong code is refused with the server's message.
  const wrong = String((Number(totp(secret)) + 1) % 1_000_000).padStart(6, "0");
  await setup.getByLabel("Code", { exact: true }).fill(wrong);
  await setup.getByLabel("Password", { exact: true }).fill(account.password);
  await setup.getByRole("button", { name: "Turn on" }).click();
  await expect(setup.getByRole("alert")).toContainText("does not match");

  await setup.getByLabel("Code", { exact: true }).fill(totp(secret));
  await setup.getByRole("button", { name: "Turn on" }).click();
  const codes = page.getByRole("region", { name: "Recovery codes" });
  await expect(codes).toContainText("won't be shown again");
  await expect(codes.getByRole("listitem")).toHaveCount(10);
  await expect(codes.getByRole("button", { name: "Copy codes" })).toBeVisible();
  await expect(page.getByText("Two-factor authentication is on.")).toBeVisible();
  await expect(page.getByRole("region", { name: "Two-factor authentication" }).getByText("On", { exact: true })).toBeVisible();
  await shot("settings-2fa-recovery-codes");

  // Sign-in now asks for the code.
  const login = await request.post(`${baseURL}/api/v1/auth/login`, { data: { email: account.email, password: account.password } });
  expect(login.status()).toBe(401);
  expect((await login.json()).error.code).toBe("totp_required");
  expect(remote).toEqual([]);
});

test("org settings are saved and shown after a reload", async ({ page, request, baseURL, signIn, shot }) => {
  const { account, token } = await freshOrg(request, baseURL!, "Settings Co");
  await signIn(account, "/settings");
  await expect(page).toHaveURL(/\/settings\/org$/);
  await expect(page.getByRole("link", { name: "Organization" })).toHaveAttribute("aria-current", "page");

  // A mistake names itself before anything is sent.
  await page.getByLabel("Warning error rate (%)").fill("9");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByRole("alert")).toContainText("below the critical one");

  await page.getByLabel("Organization name").fill("Settings Renamed");
  await page.getByLabel("Contact email").fill("ops@renamed.test");
  await page.getByLabel("Retention (days)").fill("14");
  await page.getByLabel("Warning error rate (%)").fill("2.5");
  await page.getByLabel("Critical error rate (%)").fill("10");
  await page.getByLabel("Provider", { exact: true }).fill("openai");
  await page.getByLabel("Model").fill("gpt-4o-mini");
  await page.getByLabel("Provider API key").fill("sk-test-not-a-real-key");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Saved." })).toBeVisible();
  // The frame follows at once.
  await expect(page.getByRole("banner")).toContainText("Settings Renamed");

  await page.reload();
  await expect(page.getByLabel("Organization name")).toHaveValue("Settings Renamed");
  await expect(page.getByLabel("Contact email")).toHaveValue("ops@renamed.test");
  await expect(page.getByLabel("Retention (days)")).toHaveValue("14");
  await expect(page.getByLabel("Warning error rate (%)")).toHaveValue("2.5");
  await expect(page.getByLabel("Critical error rate (%)")).toHaveValue("10");
  await expect(page.getByLabel("Provider", { exact: true })).toHaveValue("openai");
  await expect(page.getByLabel("Model")).toHaveValue("gpt-4o-mini");
  // Write-only: never shown back, only said to be stored.
  await expect(page.getByLabel("Provider API key")).toHaveValue("");
  await expect(page.getByLabel("Provider API key")).toHaveAttribute("placeholder", /stored/);
  const org = await (await request.get(`${baseURL}/api/v1/org`, { headers: { Authorization: `Bearer ${token}` } })).json();
  expect(org.ai_provider).toMatchObject({ provider: "openai", model: "gpt-4o-mini", api_key: "set" });
  expect(JSON.stringify(org)).not.toContain("sk-test-not-a-real-key");
  await shot("settings-org");

  // The server's refusal is shown too (a slug another org has).
  await page.getByLabel("Organization slug").fill("ab");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByRole("alert")).toContainText("slug");
});

test("a viewer sees settings without edit controls or admin-only sections", async ({ page, request, baseURL, signIn, shot }) => {
  const { account, token } = await freshOrg(request, baseURL!, "Viewer Co");
  const auth = { Authorization: `Bearer ${token}` };
  const team = await request.post(`${baseURL}/api/v1/teams`, { headers: auth, data: { name: "Platform" } });
  expect(team.status()).toBe(201);
  const viewer = await addUser(request, baseURL!, token, `viewer@${account.orgSlug}.test`, "viewer", "Vera Viewer");

  await signIn(viewer, "/settings");
  await expect(page).toHaveURL(/\/settings\/org$/);
  const nav = page.getByRole("navigation", { name: "Settings" });
  for (const name of ["Organization", "Users and invites", "Teams", "Sessions", "Password and 2FA"]) {
    await expect(nav.getByRole("link", { name, exact: true })).toBeVisible();
  }
  for (const name of ["API keys", "Notification channels", "Audit log", "Usage"]) {
    await expect(nav.getByRole("link", { name })).toHaveCount(0);
  }
  const body = page.getByRole("main");
  const noEditing = async () => {
    await expect(body.getByRole("textbox")).toHaveCount(0);
    await expect(body.getByRole("combobox")).toHaveCount(0);
    for (const name of ["Save", "Send invite", "Remove", "Create team", "Rename", "Delete", "Add"]) {
      await expect(body.getByRole("button", { name, exact: true })).toHaveCount(0);
    }
  };

  await expect(body.getByText("Viewer Co")).toBeVisible();
  await expect(body.getByText("Only admins change these settings.")).toBeVisible();
  await noEditing();
  await shot("settings-viewer-org");

  await nav.getByRole("link", { name: "Users and invites" }).click();
  await expect(body.getByRole("row", { name: /Vera Viewer/ })).toContainText("viewer");
  await expect(body.getByRole("row", { name: /Viewer Co Admin/ })).toContainText("admin");
  await expect(body.getByRole("region", { name: "Invites" })).toHaveCount(0);
  await noEditing();

  await nav.getByRole("link", { name: "Teams" }).click();
  await expect(body.getByRole("region", { name: "Platform" })).toBeVisible();
  await noEditing();

  await nav.getByRole("link", { name: "Sessions" }).click();
  await expect(body.getByText("This session")).toBeVisible();

  // Typed by hand, an admin-only section says so (the server answers 403 anyway).
  await page.goto("/settings/api-keys");
  await expect(body.getByText("API keys is for admins")).toBeVisible();
  await expect(body.getByRole("button", { name: "Create key" })).toHaveCount(0);
});

test("every section with data, as an admin sees it", async ({ page, request, baseURL, seed, signIn, shot }) => {
  // A webhook receiver so "Send test" has somewhere to deliver.
  const received: string[] = [];
  const receiver = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      received.push(body);
      res.writeHead(200).end("ok");
    });
  });
  await new Promise<void>((ok) => receiver.listen(0, "127.0.0.1", ok));
  const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  try {
    const { account, token } = await freshOrg(request, baseURL!, "Showcase Co");
    const auth = { Authorization: `Bearer ${token}` };
    const editor = await addUser(request, baseURL!, token, `eddie@${account.orgSlug}.test`, "editor", "Eddie Editor");
    await addUser(request, baseURL!, token, `val@${account.orgSlug}.test`, "viewer", "Val Viewer");
    await request.post(`${baseURL}/api/v1/invites`, { headers: auth, data: { email: `pending@${account.orgSlug}.test`, role: "editor" } });
    const key = await (await request.post(`${baseURL}/api/v1/api-keys`, { headers: auth, data: { name: "otel-collector prod" } })).json();
    await request.post(`${baseURL}/api/v1/api-keys`, { headers: auth, data: { name: "ci smoke tests" } });
    for (let i = 0; i < 3; i++) {
      expect((await request.post(`${seed.otlpHttp}/v1/logs`, { headers: { "x-api-key": key.key }, data: logsBody("showcase", `line ${i}`) })).status()).toBe(200);
    }
    expect((await request.post(`${seed.otlpHttp}/v1/traces`, { headers: { "x-api-key": key.key }, data: spansBody("showcase", 12) })).status()).toBe(200);
    const users = (await (await request.get(`${baseURL}/api/v1/users`, { headers: auth })).json()).users as { id: string; email: string }[];
    const t = await (await request.post(`${baseURL}/api/v1/teams`, { headers: auth, data: { name: "Payments on-call" } })).json();
    await request.patch(`${baseURL}/api/v1/teams/${t.id}`, { headers: auth, data: { add_members: users.slice(0, 2).map((u) => u.id) } });
    await request.post(`${baseURL}/api/v1/teams`, { headers: auth, data: { name: "Platform" } });
    await request.post(`${baseURL}/api/v1/notification-channels`, { headers: auth, data: { name: "Ops email", kind: "email", emails: ["ops@showcase.test", "oncall@showcase.test"] } });
    // A failed sign-in for the audit log.
    await request.post(`${baseURL}/api/v1/auth/login`, { data: { email: editor.email, password: "not the password at all" } });

    await signIn(account, "/settings/org");
    await expect(page.getByLabel("Organization name")).toHaveValue("Showcase Co");
    await shot("settings-section-org");

    await page.goto("/settings/users");
    await expect(page.getByRole("row", { name: /Eddie Editor/ })).toBeVisible();
    await page.getByLabel("Email", { exact: true }).fill(`newbie@${account.orgSlug}.test`);
    await page.getByLabel("Role", { exact: true }).selectOption("viewer");
    await page.getByRole("button", { name: "Send invite" }).click();
    const link = page.getByRole("region", { name: "New invite link" });
    await expect(link).toContainText("/invite?token=hxi_");
    await expect(link.getByRole("button", { name: "Copy link" })).toBeVisible();
    // The admin changes a role in place.
    await page.getByLabel(`Role of val@${account.orgSlug}.test`).selectOption("editor");
    await expect.poll(async () => ((await (await request.get(`${baseURL}/api/v1/users`, { headers: auth })).json()).users as { email: string; role: string }[]).find((u) => u.email.startsWith("val@"))?.role).toBe("editor");
    await page.getByText(/^Outbox/).click();
    await shot("settings-section-users");

    await page.goto("/settings/teams");
    const payments = page.getByRole("region", { name: "Payments on-call" });
    await expect(payments.getByRole("row")).toHaveCount(3);
    await payments.getByLabel("Add member").selectOption({ label: `Showcase Co Admin (${account.email})` });
    await payments.getByRole("button", { name: "Add" }).click();
    await expect(payments.getByRole("row")).toHaveCount(4);
    await payments.getByRole("button", { name: "Rename" }).click();
    await payments.getByLabel("New team name").fill("Payments");
    await payments.getByRole("button", { name: "Save name" }).click();
    await expect(page.getByRole("region", { name: "Payments", exact: true })).toBeVisible();
    await page.getByLabel("Team name").fill("Data");
    await page.getByRole("button", { name: "Create team" }).click();
    await expect(page.getByRole("region", { name: "Data" })).toBeVisible();
    await shot("settings-section-teams");

    await page.goto("/settings/api-keys");
    await expect(page.getByRole("row", { name: /otel-collector prod/ })).toBeVisible();
    await shot("settings-section-api-keys");

    await page.goto("/settings/channels");
    await page.getByLabel("Channel name").fill("Team webhook");
    await page.getByLabel("Webhook URL").fill(hook);
    await page.getByLabel("Signing secret").fill("a-signing-secret-of-some-length");
    await page.getByRole("button", { name: "Create channel" }).click();
    const row = page.getByRole("row", { name: /Team webhook/ });
    await expect(row).toContainText(hook);
    await row.getByRole("button", { name: "Send test" }).click();
    await expect(row.getByRole("status")).toContainText("delivered", { timeout: 25_000 });
    expect(received.length).toBeGreaterThan(0);
    await row.getByRole("link", { name: "Deliveries" }).click();
    await expect(page).toHaveURL(/channel=/);
    const deliveries = page.getByRole("region", { name: "Deliveries of Team webhook" });
    await expect(deliveries.getByRole("row")).toHaveCount(2);
    await expect(deliveries).toContainText("delivered");
    await page.getByRole("row", { name: /Ops email/ }).getByRole("button", { name: "Send test" }).click();
    await expect(page.getByRole("row", { name: /Ops email/ }).getByRole("status")).toContainText("Queued 2 messages");
    await shot("settings-section-channels");

    await page.goto("/settings/sessions");
    await expect(page.getByRole("row", { name: /This session/ })).toBeVisible();
    await shot("settings-section-sessions");
    // The signup's API session is another one: end it, and its token stops working.
    const sessionsTable = page.getByRole("region", { name: "Your sessions" });
    const before = await sessionsTable.getByRole("row").count();
    await sessionsTable.getByRole("row", { name: /Playwright/ }).first().getByRole("button", { name: "Revoke" }).click();
    await page.getByRole("button", { name: "Revoke session" }).click();
    await expect(sessionsTable.getByRole("row")).toHaveCount(before - 1);
    expect((await request.get(`${baseURL}/api/v1/me`, { headers: auth })).status()).toBe(401);

    await page.goto("/settings/security");
    await expect(page.getByRole("button", { name: "Change password" })).toBeVisible();
    await shot("settings-section-security");

    await page.goto("/settings/audit");
    await expect(page.getByRole("row", { name: /api_key.create/ }).first()).toBeVisible();
    await expect(page.getByRole("row", { name: /failure/ }).first()).toBeVisible();
    await shot("settings-section-audit");
    await page.getByLabel("Action", { exact: true }).fill("team.*");
    await page.getByLabel("From").fill("now-1h");
    await page.getByRole("button", { name: "Apply" }).click();
    await expect(page).toHaveURL(/action=team\.\*/);
    const events = page.getByRole("region", { name: "Audit events" });
    await expect(events.getByRole("row").nth(1)).toContainText("team.");
    for (const r of await events.getByRole("row").all()) {
      const text = await r.textContent();
      if (!text?.startsWith("Time")) expect(text).toContain("team.");
    }
    await page.getByLabel("From").fill("yesterday");
    await page.getByRole("button", { name: "Apply" }).click();
    await expect(page.getByRole("alert")).toContainText("From:");

    await page.goto("/settings/usage");
    await expect(page.getByRole("figure", { name: /Ingested bytes per day/ })).toBeVisible();
    const byDay = page.getByRole("region", { name: "Usage by day" });
    await expect(byDay.getByRole("row", { name: /logs/ })).toContainText("3");
    await page.getByRole("button", { name: "Records" }).click();
    await expect(page).toHaveURL(/metric=records/);
    await expect(byDay.getByRole("row", { name: /spans/ })).toContainText("12");
    await shot("settings-section-usage");
    await page.getByRole("button", { name: "Dark theme" }).click();
    await page.goto("/settings/audit");
    await expect(page.getByRole("row", { name: /api_key.create/ }).first()).toBeVisible();
    await shot("settings-section-audit-dark");
    await page.getByRole("button", { name: "Light theme" }).click();
  } finally {
    receiver.close();
  }
});
