import { existsSync, readdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { connect as tcpConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  NATS_SERVER_MISSING,
  type NatsServerProcess,
  startNatsServerProcess,
} from "../../src/dev/nats-server-process.js";

let dir: string;
const started: NatsServerProcess[] = [];
const start = async (name: string) => {
  const server = await startNatsServerProcess({ storeDir: join(dir, name), runDir: join(dir, name, "run") });
  started.push(server);
  return server;
};

const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = tcpConnect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "bsfg-nats-process-"));
});
afterAll(async () => {
  await Promise.all(started.map((s) => s.stop(1000)));
  await rm(dir, { recursive: true, force: true });
});

describe("startNatsServerProcess", () => {
  it("runs JetStream on a port it picked, keeps the store across restarts, and stops on SIGTERM", async () => {
    const server = await start("a");
    expect(server.url).toBe(`nats://127.0.0.1:${server.port}`);
    const nc = await connect({ servers: server.url });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: "kept", subjects: ["kept.>"] });
    await nc.close();
    expect(existsSync(join(dir, "a", "jetstream"))).toBe(true);

    await server.stop();
    // Its own shutdown (nats-server exits 1 on SIGTERM), not the SIGKILL fallback.
    expect(await server.exited).toMatch(/^exited with code \d+$/);
    expect(await accepts(server.port)).toBe(false);
    expect(readdirSync(join(dir, "a", "run"))).toEqual([]);

    const again = await start("a");
    const nc2 = await connect({ servers: again.url });
    expect((await (await jetstreamManager(nc2)).streams.info("kept")).config.name).toBe("kept");
    await nc2.close();
    await again.stop();
  });

  it("refuses a store that another server still serves", async () => {
    const first = await start("b");
    await expect(start("b")).rejects.toThrow(
      `a nats-server (pid ${first.pid}, port ${first.port}) is still serving ${join(dir, "b")}; stop it first (kill ${first.pid})`,
    );
    await first.stop();
  });

  it("says how to install nats-server when it is not on PATH", async () => {
    await expect(
      startNatsServerProcess({ storeDir: join(dir, "c"), runDir: join(dir, "c", "run"), env: { PATH: dir } }),
    ).rejects.toThrow(NATS_SERVER_MISSING);
    expect(NATS_SERVER_MISSING).toContain("apt-get install -y nats-server");
  });

  it("reports a server that exits before it is ready, with what it wrote", async () => {
    // sh rejects nats-server's first flag (-js) on stderr and exits: a stand-in for a server refusing its arguments.
    const failure = await startNatsServerProcess({
      storeDir: join(dir, "d"),
      runDir: join(dir, "d", "run"),
      command: "sh",
    }).then(
      () => new Error("started"),
      (error: unknown) => error as Error,
    );
    const [first, ...rest] = failure.message.split("\n");
    expect(first).toBe(`nats-server for ${join(dir, "d")}: exited with code 2 before it was ready`);
    expect(rest.join("\n")).toMatch(/-j/);
  });
});
