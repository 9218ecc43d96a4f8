import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, readdir, readFile, rm } from "node:fs/promises";
import { connect as tcpConnect } from "node:net";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";

export interface NatsServerProcessOptions {
  /** Passed as `-sd`: JetStream keeps its data in `<storeDir>/jetstream`, across runs. */
  readonly storeDir: string;
  /** Where the server writes its ports file; one directory per store, so a leftover file means a live or crashed server. */
  readonly runDir: string;
  /** `server_name` in the server's logs. */
  readonly name?: string;
  /** Default `nats-server`, looked up on PATH. */
  readonly command?: string;
  /** Default: the environment of this process. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly startTimeoutMs?: number;
}

export interface NatsServerProcess {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** Resolves with how the server ended, whether stop() ended it or not. */
  readonly exited: Promise<string>;
  /** The tail of what the server wrote (it logs to stderr). */
  output(): string;
  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. Idempotent. */
  stop(graceMs?: number): Promise<void>;
}

const OUTPUT_LIMIT = 32 * 1024;
const POLL_MS = 25;

export const NATS_SERVER_MISSING =
  "nats-server is not on PATH: install it (Debian/Ubuntu: `sudo apt-get install -y nats-server`) or put a nats-server >= 2.9 binary on PATH";

/**
 * Spawns a JetStream-enabled nats-server on 127.0.0.1 and a port the server
 * picks itself (`-p -1`), read back from its ports file, so there is no
 * window in which another process can take a port chosen for it.
 */
export async function startNatsServerProcess(options: NatsServerProcessOptions): Promise<NatsServerProcess> {
  await mkdir(options.storeDir, { recursive: true });
  await mkdir(options.runDir, { recursive: true });
  await refuseIfStillServed(options);

  const args = [
    "-js",
    ...["-a", "127.0.0.1", "-p", "-1"],
    ...["-sd", options.storeDir, "--ports_file_dir", options.runDir],
    ...(options.name === undefined ? [] : ["-n", options.name]),
  ];
  const child = spawn(options.command ?? "nats-server", args, {
    stdio: ["ignore", "ignore", "pipe"],
    // Its own process group: a Ctrl-C in the terminal reaches only the parent,
    // which stops the nodes first and the servers after them.
    detached: true,
    ...(options.env !== undefined && { env: { ...options.env } }),
  });
  let output = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    output = (output + chunk.toString("utf8")).slice(-OUTPUT_LIMIT);
  });
  let ended: string | undefined;
  const exited = new Promise<string>((resolve) => {
    child.once("exit", (code, signal) => {
      ended = signal === null ? `exited with code ${code}` : `exited on ${signal}`;
      resolve(ended);
    });
    child.once("error", (error: NodeJS.ErrnoException) => {
      ended ??= error.code === "ENOENT" ? NATS_SERVER_MISSING : `cannot spawn: ${error.message}`;
      resolve(ended);
    });
  });

  let port: number;
  try {
    port = await waitForPort(child, options, () => ended, options.startTimeoutMs ?? 10_000);
  } catch (error) {
    if (ended === undefined) {
      child.kill("SIGKILL");
      await exited;
    }
    if (ended === NATS_SERVER_MISSING) throw new Error(NATS_SERVER_MISSING);
    throw new Error(
      `nats-server for ${options.storeDir}: ${(error as Error).message}${output === "" ? "" : `\n${output.trimEnd()}`}`,
    );
  }

  let stopping: Promise<void> | undefined;
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    pid: child.pid ?? -1,
    exited,
    output: () => output,
    stop(graceMs = 5_000) {
      stopping ??= (async () => {
        if (ended !== undefined) return;
        child.kill("SIGTERM");
        const grace = new AbortController();
        const inTime = await Promise.race([
          exited.then(() => true),
          delay(graceMs, false, { signal: grace.signal }).catch(() => true),
        ]);
        grace.abort();
        if (!inTime) {
          child.kill("SIGKILL");
          await exited;
        }
      })();
      return stopping;
    },
  };
}

/**
 * nats-server 2.9 does not lock its store directory, and two servers on one
 * store corrupt it; the server removes its ports file on a clean exit, so a
 * leftover one is either a crash (harmless, removed) or a server still running.
 */
async function refuseIfStillServed(options: NatsServerProcessOptions): Promise<void> {
  for (const file of await readdir(options.runDir)) {
    const match = /^nats-server_(\d+)\.ports$/.exec(file);
    if (match === null) continue;
    const port = await readPortsFile(join(options.runDir, file));
    if (port !== undefined && (await canConnect(port))) {
      throw new Error(
        `a nats-server (pid ${match[1]}, port ${port}) is still serving ${options.storeDir}; stop it first (kill ${match[1]})`,
      );
    }
    await rm(join(options.runDir, file), { force: true });
  }
}

async function waitForPort(
  child: ChildProcess,
  options: NatsServerProcessOptions,
  ended: () => string | undefined,
  timeoutMs: number,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let port: number | undefined;
  for (;;) {
    const reason = ended();
    if (reason !== undefined) throw new Error(`${reason} before it was ready`);
    if (port === undefined && child.pid !== undefined)
      port = await readPortsFile(join(options.runDir, `nats-server_${child.pid}.ports`));
    if (port !== undefined && (await canConnect(port))) return port;
    if (Date.now() > deadline) throw new Error(`not ready after ${timeoutMs} ms`);
    await delay(POLL_MS);
  }
}

async function readPortsFile(path: string): Promise<number | undefined> {
  try {
    const urls = (JSON.parse(await readFile(path, "utf8")) as { nats?: unknown }).nats;
    const first = Array.isArray(urls) && typeof urls[0] === "string" ? urls[0] : undefined;
    return first === undefined ? undefined : Number(new URL(first).port);
  } catch {
    // Absent, or still being written.
    return undefined;
  }
}

/** Whether something accepts TCP connections on 127.0.0.1:`port` right now. */
export function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => {
      socket.destroy();
      resolve(false);
    });
  });
}
