// Vite build of the dashboard: hashed assets under /assets, no inline scripts (the server's
// CSP forbids them), and a dev server that proxies the API to a running `hexcovery serve`.
import { defineConfig } from "vite";

const api = process.env.HEXCOVERY_API ?? "http://127.0.0.1:8080";

export default defineConfig({
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  resolve: {
    alias: { react: "preact/compat", "react-dom": "preact/compat" },
  },
  build: {
    outDir: "dist",
    assetsDir: "assets",
    emptyOutDir: true,
    // Keep every script an external file: the CSP allows no inline code.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    target: "es2022",
  },
  server: {
    proxy: {
      "/api": { target: api, changeOrigin: false },
      "/healthz": api,
    },
  },
});
