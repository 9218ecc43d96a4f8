import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { measureFloors } from "../../bench/floors.js";
import { type NatsServerHandle, startNatsServer } from "../fixtures/nats-server.js";

let origin: NatsServerHandle;
let target: NatsServerHandle;
let ncOrigin: NatsConnection;
let ncTarget: NatsConnection;

beforeAll(async () => {
  [origin, target] = await Promise.all([startNatsServer(), startNatsServer()]);
  [ncOrigin, ncTarget] = await Promise.all([
    connect({ servers: origin.url }),
    connect({ servers: target.url }),
  ]);
});

afterAll(async () => {
  await ncOrigin?.close();
  await ncTarget?.close();
  await origin?.stop();
  await target?.stop();
});

describe("the bench's floors (bench/floors.ts, bench/bare-service.ts)", () => {
  it("relays every message of the backlog through FetchFacts in order, and writes a claim and a fact per appended item", async () => {
    const jsmOrigin = await jetstreamManager(ncOrigin);
    const jsmTarget = await jetstreamManager(ncTarget);
    await jsmOrigin.streams.add({ name: "SRC", subjects: ["src.>"] });
    const js = jetstream(ncOrigin);
    // More than two relay batches of 1000, and not a multiple of one.
    const backlog = 2_345;
    await Promise.all(Array.from({ length: backlog }, (_, i) => js.publish(`src.${i % 3}`, `m${i}`)));

    const floors = await measureFloors({
      origin: { url: origin.url, pid: origin.pid, jsm: jsmOrigin },
      stream: "SRC",
      target: { pid: target.pid, nc: ncTarget, jsm: jsmTarget },
      messages: backlog,
      facts: 600,
      batch: 250,
      batchConcurrency: 2,
      connections: 2,
      maxMs: 60_000,
    });

    expect(floors.rpcRelay.messages).toBe(backlog);
    expect(floors.rpcRelay.messagesPerSecond).toBeGreaterThan(0);
    const relayed = await jsmTarget.streams.info("RPC_RELAY");
    expect(relayed.state.messages).toBe(backlog);
    const sent = await Promise.all(
      [1, 1000, 1001, backlog].map(async (seq) => {
        const m = await jsmTarget.streams.getMessage("RPC_RELAY", { seq });
        return new TextDecoder().decode(m?.data);
      }),
    );
    expect(sent).toEqual(["m0", "m999", "m1000", `m${backlog - 1}`]);

    expect(floors.bareAppend.items).toBe(600);
    expect(floors.bareAppend.errors).toBe(0);
    // The warm-up's 500 items come first; each item is one claim and one fact.
    expect((await jsmOrigin.streams.info("BARE_INDEX")).state.messages).toBe(1100);
    expect((await jsmOrigin.streams.info("BARE_FACTS")).state.messages).toBe(1100);
    expect(floors.bareAppend.rss["bare service"]?.cpuSeconds).toBeGreaterThan(0);
  }, 120_000);
});
