/// <reference types="vitest/config" />
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// `npm run dev` proxies the API to a running `make run` (MTI_URL overrides where).
const api = process.env.MTI_URL ?? "http://127.0.0.1:8000";

export default defineConfig({
  plugins: [react()],
  // rjsf and Ajv make one ~650 kB chunk (~210 kB gzipped): fine for a tool page. No source
  // maps in the build (the dev server has its own): nothing the shim serves maps the source.
  // `npm run build` then writes each asset's .br and .gz (scripts/compress.mjs).
  build: { outDir: "dist", emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 900 },
  server: { proxy: { "/api": api } },
  test: {
    environment: "jsdom",
    globals: true,
    setupFiles: ["./src/test-setup.ts"],
    include: ["src/**/*.test.{ts,tsx}"],
  },
});
