// The hash of every input of the web build, written to dist/inputs.sha256 after a build and
// recomputed by a Rust test (crates/hexcovery-ui) so a stale committed dist fails the tests.
//
// Inputs: index.html, package.json, package-lock.json, tsconfig.json, vite.config.ts and
// every file under src/ and public/ that is not a unit test (*.test.ts, *.test.tsx).
// Hash: SHA-256 over, for each input in byte order of its path relative to web/,
// `path \0 byte-length \0 bytes`. Line endings are hashed as they are on disk.
import { createHash } from "node:crypto";
import { readFileSync, readdirSync, statSync, writeFileSync, existsSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

const web = join(fileURLToPath(import.meta.url), "..", "..");
const TOP = ["index.html", "package.json", "package-lock.json", "tsconfig.json", "vite.config.ts"];
const DIRS = ["src", "public"];

function walk(dir, out) {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, out);
    else if (!/\.test\.tsx?$/.test(name)) out.push(relative(web, path).split(sep).join("/"));
  }
}

export function inputs() {
  const files = TOP.filter((f) => existsSync(join(web, f)));
  for (const d of DIRS) walk(join(web, d), files);
  return files.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

export function inputsHash() {
  const h = createHash("sha256");
  for (const file of inputs()) {
    const bytes = readFileSync(join(web, file));
    h.update(file);
    h.update("\0");
    h.update(String(bytes.length));
    h.update("\0");
    h.update(bytes);
  }
  return h.digest("hex");
}

const mode = process.argv[2];
const target = join(web, "dist", "inputs.sha256");
if (mode === "--write") {
  writeFileSync(target, inputsHash() + "\n");
} else if (mode === "--check") {
  const want = inputsHash();
  const have = existsSync(target) ? readFileSync(target, "utf8").trim() : "(missing)";
  if (want !== have) {
    console.error(`web/dist is stale: inputs hash ${want}, dist built from ${have}; run npm run build`);
    process.exit(1);
  }
  console.log("web/dist matches its inputs");
} else {
  console.log(inputsHash());
}
