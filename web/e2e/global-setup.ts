// Starts the server, seeds it, and hands the addresses and accounts to the tests through
// a JSON file named by HEXCOVERY_E2E_STATE.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { seed } from "./seed";
import { startServer } from "./server";

export default async function globalSetup() {
  const server = await startServer();
  const data = await seed(server.http, server.otlpHttp, server.logFile);
  const stateFile = join(server.dataDir, "seed.json");
  writeFileSync(stateFile, JSON.stringify({ ...data, pid: server.process.pid }, null, 2));
  process.env.HEXCOVERY_E2E_STATE = stateFile;
  process.env.HEXCOVERY_E2E_SCREENSHOTS ??= join(server.dataDir, "screenshots");
  mkdirSync(process.env.HEXCOVERY_E2E_SCREENSHOTS, { recursive: true });
  server.process.unref();
  console.log(`hexcovery e2e server on ${server.http} (log ${server.logFile}); screenshots in ${process.env.HEXCOVERY_E2E_SCREENSHOTS}`);
}
