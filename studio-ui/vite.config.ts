/// <reference types="vitest/config" />
import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";
import { packagedBundle } from "./build/bundle-plugin";

const root = fileURLToPath(new URL(".", import.meta.url));
// The bundle ships inside the Python package: an installed Studio never needs Node.
const outDir = fileURLToPath(new URL("../src/flowai_harness/studio/static", import.meta.url));
const backend = process.env.FLOWAI_STUDIO_BACKEND_URL ?? "http://127.0.0.1:4111";

// The shipped bundle runs on Preact's React-compatible core (a fraction of React's size);
// component tests run on React itself, the browser tests on the shipped bundle.
const preact = {
  react: "preact/compat",
  "react-dom/client": "preact/compat/client",
  "react-dom": "preact/compat",
  "react/jsx-runtime": "preact/jsx-runtime",
};

export default defineConfig(({ mode }) => ({
  plugins: [react(), packagedBundle(root)],
  resolve: { alias: mode === "production" ? preact : {} },
  build: {
    outDir,
    emptyOutDir: true,
    assetsDir: "assets",
    target: "es2022",
    sourcemap: false,
    chunkSizeWarningLimit: 400,
  },
  server: {
    // `flowai-harness dev --studio-dir studio-ui` runs this dev server next to the API.
    host: process.env.FLOWAI_STUDIO_FRONTEND_HOST ?? "127.0.0.1",
    port: Number(process.env.FLOWAI_STUDIO_FRONTEND_PORT ?? 3000),
    proxy: { "/api": backend, "/__flowai_config.js": backend },
  },
  test: {
    environment: "jsdom",
    setupFiles: ["./src/test/setup.ts"],
    include: ["src/**/*.test.{ts,tsx}"],
    css: false,
  },
}));
