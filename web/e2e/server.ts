// Starts a real `hexcovery serve` on loopback ports chosen by the OS, with a temp data dir,
// and answers its addresses once it has logged them and /readyz says ready.
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
const HERE = fileURLToPath(new URL(".", import.meta.url));

export interface RunningServer {
  process: ChildProcess;
  http: string;
  otlpHttp: string;
  grpc: string;
  dataDir: string;
  logFile: string;
}

export const binary = () => process.env.HEXCOVERY_BIN ?? resolve(HERE, "..", "..", "target", "debug", "hexcovery");

export async function startServer(): Promise<RunningServer> {
  const dataDir = mkdtempSync(join(tmpdir(), "hexcovery-e2e-"));
  const logFile = join(dataDir, "server.log");
  const log = createWriteStream(logFile);
  const child = spawn(
    binary(),
    // Every spec signs up its own orgs, all from loopback: no per-address signup limit here.
    ["serve", "--data-dir", join(dataDir, "data"), "--http-addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0", "--otlp-http-addr", "127.0.0.1:0", "--flush-interval-secs", "2", "--max-signups-per-address", "0"],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? "info", NO_COLOR: "1" } },
  );
  let text = "";
  const found: Record<string, string> = {};
  const ready = new Promise<void>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`hexcovery did not report its addresses in 60 s; log: ${logFile}\n${text.slice(-2000)}`)), 60_000);
    const onData = (chunk: Buffer) => {
      log.write(chunk);
      text += chunk.toString();
      for (const [key, re] of [
        ["http", /HTTP API listening on (http:\/\/[\d.:]+)/],
        ["otlpHttp", /OTLP\/HTTP listening on (http:\/\/[\d.:]+)/],
        ["grpc", /OTLP\/gRPC listening on ([\d.:]+)/],
      ] as const) {
        const m = re.exec(text);
        if (m) found[key] = m[1];
      }
      if (found.http && found.otlpHttp && found.grpc) {
        clearTimeout(timer);
        ok();
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.on("exit", (code) => fail(new Error(`hexcovery exited with ${code} before it was ready; log: ${logFile}\n${text.slice(-2000)}`)));
  });
  await ready;
  for (let i = 0; i < 100; i++) {
    const res = await fetch(`${found.http}/readyz`).catch(() => null);
    if (res?.ok) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return { process: child, http: found.http, otlpHttp: found.otlpHttp, grpc: found.grpc, dataDir, logFile };
}
