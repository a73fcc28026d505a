// Starts a real `cardfile serve` (demo data, dev outbox, SQLite in a fresh
// temporary directory) on a free port and stops it again.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface RunningServer {
  url: string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function waitReady(url: string, child: ChildProcess, output: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`cardfile exited with ${child.exitCode} before it was ready:\n${output()}`);
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`cardfile at ${url} was not ready within ${timeoutMs} ms:\n${output()}`);
}

/** Starts one server; extraEnv adds CARDFILE_* settings such as CARDFILE_LINK_TTL. */
export async function startServer(name: string, extraEnv: Record<string, string> = {}): Promise<RunningServer> {
  // The free port is closed again before cardfile binds it (after seeding, which
  // takes seconds), so another process may take it meanwhile: try a new port then.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startServerOnce(name, extraEnv);
    } catch (e) {
      if (attempt >= 3 || !String(e).includes("address already in use")) throw e;
    }
  }
}

async function startServerOnce(name: string, extraEnv: Record<string, string>): Promise<RunningServer> {
  const bin = process.env.CARDFILE_BIN;
  if (!bin) throw new Error("CARDFILE_BIN is not set: run the browser tests with `make test-browser`");
  const dir = mkdtempSync(join(tmpdir(), `cardfile-e2e-${name}-`));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(bin, ["serve"], {
    cwd: dir,
    env: {
      ...process.env,
      CARDFILE_ADDR: `127.0.0.1:${port}`,
      CARDFILE_PUBLIC_URL: url,
      CARDFILE_DEMO: "1",
      CARDFILE_DEV: "1",
      CARDFILE_LOG_LEVEL: "warn",
      ...extraEnv,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  const keep = (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-20_000);
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await waitReady(url, child, () => log, 60_000);
  } catch (e) {
    await stop();
    throw e;
  }
  return { url, stop };
}
