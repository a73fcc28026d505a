import { defineConfig, type Plugin } from "vite";
import react from "@vitejs/plugin-react";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";

// precompress writes .br and .gz siblings of the hashed assets, compressed once
// here at the highest levels; the Go handler (frontend/frontend.go) serves them
// to clients that accept them. Node's own zlib: no plugin to install.
function precompress(): Plugin {
  return {
    name: "cardfile-precompress",
    apply: "build",
    writeBundle(options, bundle) {
      for (const name of Object.keys(bundle)) {
        if (!/^assets\/.*\.(js|css|svg)$/.test(name)) continue;
        const file = join(options.dir ?? "dist", name);
        const data = readFileSync(file);
        if (data.length < 1024) continue; // not worth a round of decoding
        writeFileSync(file + ".gz", gzipSync(data, { level: 9 }));
        writeFileSync(file + ".br", brotliCompressSync(data, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }));
      }
    },
  };
}

// The Go server (cardfile serve) answers /query (HTTP + graphql-transport-ws),
// /sandbox (the built-in gateway's hosted card fields) and /dev (the outbox).
// In development Vite serves the app and forwards those to it.
const backend = process.env.CARDFILE_BACKEND ?? "http://127.0.0.1:8090";

export default defineConfig({
  plugins: [react(), precompress()],
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
