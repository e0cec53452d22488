// Sign up, sign in and out, reloads keeping the session, the return path after a 401,
// and the TOTP step.
import { createHmac } from "node:crypto";
import { expect, test } from "./fixtures";

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

test("sign up creates an org and lands on the overview", async ({ page }) => {
  await page.goto("/signup");
  await page.getByLabel("Organization name").fill("Globex Corp");
  await expect(page.getByLabel("Organization slug")).toHaveValue("globex-corp");
  await page.getByLabel("Your name").fill("Hank Scorpio");
  await page.getByLabel("Email").fill("hank@globex.test");
  await page.getByLabel("Password").fill("a long enough password");
  await page.getByRole("button", { name: "Create organization" }).click();
  await expect(page.getByRole("navigation", { name: "Primary" })).toBeVisible();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByText("Globex Corp")).toBeVisible();
});

test("sign in, reload stays signed in, sign out ends the session", async ({ page, seed }) => {
  await page.goto("/logs?q=x");
  await expect(page).toHaveURL(/\/login\?next=/);
  await page.getByLabel("Email").fill(seed.admin.email);
  await page.getByLabel("Password").fill("wrong password here");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert")).toBeVisible();
  await page.getByLabel("Password").fill(seed.admin.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  // Back where the 401 sent us from.
  await expect(page).toHaveURL(/\/logs\?q=x$/);
  await page.reload();
  await expect(page.getByRole("link", { name: "Logs" })).toHaveAttribute("aria-current", "page");
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login$/);
  await page.goto("/");
  await expect(page).toHaveURL(/\/login/);
});

test("two tabs refreshing at once keep the session", async ({ page, context, seed, signIn }) => {
  await signIn(seed.admin, "/");
  const second = await context.newPage();
  // Both tabs boot by refreshing with the same cookie; the lock serialises them, so the
  // second sends the rotated cookie instead of reusing the first (which would revoke).
  await Promise.all([page.reload(), second.goto("/logs")]);
  await expect(page.getByRole("navigation", { name: "Primary" })).toBeVisible();
  await expect(second.getByRole("navigation", { name: "Primary" })).toBeVisible();
  await page.reload();
  await expect(page.getByRole("navigation", { name: "Primary" })).toBeVisible();
  await second.close();
});

test("the TOTP step at sign in", async ({ page, request, baseURL }) => {
  const signup = await request.post(`${baseURL}/api/v1/auth/signup`, {
    data: { org_name: "Initech", org_slug: "initech", email: "peter@initech.test", password: "a long enough password", name: "Peter" },
  });
  const { access_token } = await signup.json();
  const auth = { Authorization: `Bearer ${access_token}` };
  const setup = await (await request.post(`${baseURL}/api/v1/auth/totp/setup`, { headers: auth, data: {} })).json();
  const used = totp(setup.secret);
  const enable = await request.post(`${baseURL}/api/v1/auth/totp/enable`, { headers: auth, data: { code: used, password: "a long enough password" } });
  expect(enable.status(), await enable.text()).toBe(200);

  await page.goto("/login");
  await page.getByLabel("Email").fill("peter@initech.test");
  await page.getByLabel("Password").fill("a long enough password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByLabel("Code")).toBeVisible();
  // A code works once: wait for the authenticator's next one.
  await expect.poll(() => totp(setup.secret), { timeout: 35_000, intervals: [500] }).not.toBe(used);
  await page.getByLabel("Code").fill(totp(setup.secret));
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("navigation", { name: "Primary" })).toBeVisible();
});
