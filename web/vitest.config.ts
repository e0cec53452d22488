// Unit tests: only the `*.test.ts` files beside the sources (the Playwright specs in e2e/
// run under Playwright Test, not vitest).
import { defineConfig, mergeConfig } from "vitest/config";
import vite from "./vite.config";

export default mergeConfig(vite, defineConfig({ test: { include: ["src/**/*.test.ts"] } }));
