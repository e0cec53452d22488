// Makes sure the server global-setup started is gone, even when setup's own teardown
// did not run (a crashed runner leaves the pid in the state file).
import { readFileSync } from "node:fs";

export default async function globalTeardown() {
  const file = process.env.HEXCOVERY_E2E_STATE;
  if (!file) return;
  const { pid } = JSON.parse(readFileSync(file, "utf8"));
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    /* already gone */
  }
}
