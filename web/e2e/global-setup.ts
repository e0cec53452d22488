// Starts the server, seeds it, and hands the addresses and accounts to the tests through
// a JSON file named by HEXCOVERY_E2E_STATE. With HEXCOVERY_E2E_DEV=1 the pages come from a
// Vite dev server (proxying /api to the real server) instead of the binary's embedded
// bundle, for fast iteration; CI always tests the binary.
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
const HERE = fileURLToPath(new URL(".", import.meta.url));
import { seed } from "./seed";
import { startServer } from "./server";

export default async function globalSetup() {
  const server = await startServer();
  let baseURL = server.http;
  let stopVite: (() => Promise<void>) | undefined;
  if (process.env.HEXCOVERY_E2E_DEV === "1") {
    process.env.HEXCOVERY_API = server.http;
    const { createServer } = await import("vite");
    const vite = await createServer({ root: resolve(HERE, ".."), configFile: resolve(HERE, "..", "vite.config.ts"), server: { port: 0, host: "127.0.0.1" }, logLevel: "warn" });
    await vite.listen();
    baseURL = vite.resolvedUrls!.local[0].replace(/\/$/, "");
    stopVite = () => vite.close();
  }
  const data = await seed(server.http, server.otlpHttp, server.logFile);
  const stateFile = join(server.dataDir, "seed.json");
  writeFileSync(stateFile, JSON.stringify({ ...data, baseURL, pid: server.process.pid }, null, 2));
  process.env.HEXCOVERY_E2E_STATE = stateFile;
  process.env.HEXCOVERY_E2E_SCREENSHOTS ??= join(server.dataDir, "screenshots");
  mkdirSync(process.env.HEXCOVERY_E2E_SCREENSHOTS, { recursive: true });
  console.log(`hexcovery e2e server on ${server.http}, pages from ${baseURL} (log ${server.logFile}); screenshots in ${process.env.HEXCOVERY_E2E_SCREENSHOTS}`);
  return async () => {
    await stopVite?.();
    server.process.kill("SIGTERM");
  };
}
