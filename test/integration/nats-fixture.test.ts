import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { connect as tcpConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { describe, expect, it } from "vitest";
import { startNatsServer, withNatsServer } from "../fixtures/nats-server.js";

function tcpProbe(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// A crashed nats-server leaves its ports file behind while a graceful shutdown deletes it, which tells a
// real SIGKILL apart from a polite stop. The dir is only visible on the running server's command line.
async function portsFileOf(pid: number): Promise<string> {
  const args = (await readFile(`/proc/${pid}/cmdline`, "utf8")).split("\0");
  const dir = args[args.indexOf("--ports_file_dir") + 1];
  if (dir === undefined) throw new Error(`no --ports_file_dir in ${args.join(" ")}`);
  return join(dir, `nats-server_${pid}.ports`);
}

async function withEnv<T>(name: string, value: string | undefined, fn: () => Promise<T>): Promise<T> {
  const saved = process.env[name];
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
  try {
    return await fn();
  } finally {
    if (saved === undefined) delete process.env[name];
    else process.env[name] = saved;
  }
}

describe("nats-server fixture", () => {
  it("starts a JetStream-enabled server reachable over TCP", async () => {
    await withNatsServer(async (server) => {
      expect(server.url).toBe(`nats://127.0.0.1:${server.port}`);
      expect(server.pid).toBeGreaterThan(0);
      expect(processAlive(server.pid)).toBe(true);
      expect(await tcpProbe(server.port)).toBe(true);

      const nc = await connect({ servers: server.url });
      try {
        const jsm = await jetstreamManager(nc);
        await jsm.streams.add({ name: "FIXTURE", subjects: ["fixture.>"] });
        const ack = await jetstream(nc).publish("fixture.a", "hello");
        expect(ack.seq).toBe(1);
        const info = await jsm.streams.info("FIXTURE");
        expect(info.state.messages).toBe(1);
      } finally {
        await nc.close();
      }
      expect(existsSync(join(server.storeDir, "jetstream"))).toBe(true);
    });
  });

  it("keeps the stream, port and store across kill() and restart()", async () => {
    await withNatsServer(async (server) => {
      const { url, port, storeDir } = server;
      const firstPid = server.pid;
      const before = await connect({ servers: url });
      try {
        const jsm = await jetstreamManager(before);
        await jsm.streams.add({ name: "DURABLE", subjects: ["durable.>"] });
        await jetstream(before).publish("durable.x", "survives a crash");
      } finally {
        await before.close();
      }

      const portsFile = await portsFileOf(firstPid);
      expect(existsSync(portsFile)).toBe(true);

      await server.kill();
      expect(processAlive(firstPid)).toBe(false);
      expect(existsSync(portsFile)).toBe(true);
      expect(await tcpProbe(port)).toBe(false);
      expect(existsSync(storeDir)).toBe(true);

      await server.restart();
      expect(server.url).toBe(url);
      expect(server.port).toBe(port);
      expect(server.storeDir).toBe(storeDir);
      expect(server.pid).not.toBe(firstPid);
      expect(processAlive(server.pid)).toBe(true);

      const after = await connect({ servers: url });
      try {
        const jsm = await jetstreamManager(after);
        expect((await jsm.streams.info("DURABLE")).state.messages).toBe(1);
        const stored = await jsm.streams.getMessage("DURABLE", { seq: 1 });
        expect(stored?.subject).toBe("durable.x");
        expect(stored?.string()).toBe("survives a crash");
      } finally {
        await after.close();
      }
    });
  });

  it("stop() ends the server and removes only the store dir it created", async () => {
    const server = await startNatsServer();
    const { storeDir, pid, port } = server;
    expect(existsSync(storeDir)).toBe(true);
    await server.stop();
    expect(existsSync(storeDir)).toBe(false);
    expect(processAlive(pid)).toBe(false);
    expect(await tcpProbe(port)).toBe(false);
    await server.stop();

    const ownDir = await mkdtemp(join(tmpdir(), "bsfg-fixture-own-"));
    try {
      const kept = await startNatsServer({ storeDir: ownDir });
      expect(kept.storeDir).toBe(ownDir);
      await kept.stop();
      expect(existsSync(join(ownDir, "jetstream"))).toBe(true);
    } finally {
      await rm(ownDir, { recursive: true, force: true });
    }
  });

  it("applies configText and maxFileStore", async () => {
    await withNatsServer(
      async (server) => {
        const nc = await connect({ servers: server.url });
        try {
          expect(nc.info?.max_payload).toBe(4096);
          const jsm = await jetstreamManager(nc);
          await expect(
            jsm.streams.add({ name: "TOO_BIG", subjects: ["big.>"], max_bytes: 8 * 1024 * 1024 }),
          ).rejects.toThrow(/insufficient storage/i);
          await jsm.streams.add({ name: "FITS", subjects: ["fits.>"], max_bytes: 1024 * 1024 });
        } finally {
          await nc.close();
        }
      },
      { configText: "max_payload: 4096", maxFileStore: "4MB" },
    );
  });

  it("fails with the server's own output when it cannot start, leaving no temp dirs", async () => {
    const failure = await startNatsServer({ configText: "max_payload: {{{" }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(Error);
    const message = (failure as Error).message;
    expect(message).toMatch(/exited with code 1.*\n--- server output ---\nnats-server: Parse error/s);
    const storeDir = /-sd (\S+)/.exec(message)?.[1];
    const runDir = /--ports_file_dir (\S+)/.exec(message)?.[1];
    expect(storeDir).toBeDefined();
    expect(runDir).toBeDefined();
    expect(existsSync(storeDir ?? "")).toBe(false);
    expect(existsSync(runDir ?? "")).toBe(false);
  });

  it("explains how to install nats-server when it is not on PATH", async () => {
    const emptyDir = await mkdtemp(join(tmpdir(), "bsfg-empty-path-"));
    try {
      await withEnv("PATH", emptyDir, async () => {
        await expect(startNatsServer()).rejects.toThrow(/apt-get install -y nats-server.*2\.9\.10/);
      });
    } finally {
      await rm(emptyDir, { recursive: true, force: true });
    }
  });

  it("rejects an unknown BSFG_TEST_NATS mode", async () => {
    await withEnv("BSFG_TEST_NATS", "podman", async () => {
      await expect(startNatsServer()).rejects.toThrow(/BSFG_TEST_NATS="podman" is not supported/);
    });
  });

  // Only meaningful where no Docker engine exists; with one, testcontainers would really start a container.
  it.skipIf(existsSync("/var/run/docker.sock"))(
    "explains that BSFG_TEST_NATS=container needs a Docker engine",
    async () => {
      await withEnv("BSFG_TEST_NATS", "container", async () => {
        await expect(startNatsServer()).rejects.toThrow(
          /^BSFG_TEST_NATS=container needs a Docker engine, and none was found \(testcontainers: Could not find a working container runtime strategy\)\. Unset BSFG_TEST_NATS to use the local nats-server binary\.$/,
        );
      });
    },
  );
});
