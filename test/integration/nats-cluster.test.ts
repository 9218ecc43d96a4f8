import { setTimeout as delay } from "node:timers/promises";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type NatsClusterHandle, startNatsCluster } from "../fixtures/nats-cluster.js";

// The JetStream cluster fixture behind `npm run torture -- --cluster`: its
// health probe must see a killed server, and a restarted server must rejoin
// with its store, or the campaign would kill a second one below quorum.

let cluster: NatsClusterHandle;

async function until<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(200);
  }
}

beforeAll(async () => {
  cluster = await startNatsCluster({ name: "zone-nats" });
}, 90_000);

afterAll(async () => {
  await cluster?.stop();
});

describe("startNatsCluster", () => {
  it("names its servers and is ready for replicas 3", async () => {
    expect(cluster.serverNames).toEqual(["zone-nats-1", "zone-nats-2", "zone-nats-3"]);
    expect(new Set(cluster.urls).size).toBe(3);
    const nc = await connect({ servers: [...cluster.urls] });
    try {
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: "r3", subjects: ["r3.>"], num_replicas: 3 });
      const js = jetstream(nc);
      for (let i = 0; i < 10; i++) await js.publish("r3.x", `m${i}`);
    } finally {
      await nc.close();
    }
    expect(await until(async () => ((await cluster.problems()).length === 0 ? true : undefined), "R3")).toBe(
      true,
    );
  }, 90_000);

  it("reports the stream's replicas as not current while one server is down, and heals on restart", async () => {
    const leader = await until(() => cluster.leaderOf("r3"), "a leader of r3");
    const victim = (leader + 1) % 3;
    const server = cluster.servers[victim] as (typeof cluster.servers)[number];
    await server.kill();
    const seen = await until(async () => {
      const p = await cluster.problems();
      return p.some((line) => line.includes(cluster.serverNames[victim] as string)) ? p : undefined;
    }, `a problem naming ${cluster.serverNames[victim]}`);
    expect(seen.join("\n")).toMatch(/r3: zone-nats-\d (offline|behind)/);
    await server.restart();
    await until(async () => ((await cluster.problems()).length === 0 ? true : undefined), "healed");
    // The restarted server kept its store: the stream still holds every message.
    const nc = await connect({ servers: [...cluster.urls] });
    try {
      expect((await (await jetstreamManager(nc)).streams.info("r3")).state.messages).toBe(10);
    } finally {
      await nc.close();
    }
  }, 120_000);
});
