import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The Go server (cardfile serve) answers /query (HTTP + graphql-transport-ws),
// /sandbox (the built-in gateway's hosted card fields) and /dev (the outbox).
// In development Vite serves the app and forwards those to it.
const backend = process.env.CARDFILE_BACKEND ?? "http://127.0.0.1:8090";

export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    // The build is embedded in the Go binary; maps would double its size.
    sourcemap: false,
    target: "es2022",
    rolldownOptions: {
      output: {
        // One long-cached chunk for React, urql and graphql-ws; screens stay in their own chunks.
        codeSplitting: { groups: [{ name: "vendor", test: /node_modules/ }] },
      },
    },
  },
  server: {
    host: "localhost",
    port: 5173,
    strictPort: true,
    proxy: {
      // Origin is passed through untouched: the server's CORS and websocket
      // origin checks expect http://localhost:5173 (CARDFILE_ALLOWED_ORIGINS).
      "/query": { target: backend, ws: true },
      "^/sandbox/": { target: backend },
      "^/dev/": { target: backend },
    },
  },
  preview: {
    port: 5173,
    strictPort: true,
    proxy: {
      "/query": { target: backend, ws: true },
      "^/sandbox/": { target: backend },
      "^/dev/": { target: backend },
    },
  },
});
