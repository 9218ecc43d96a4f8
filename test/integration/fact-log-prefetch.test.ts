import { type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JetStreamFactLog } from "../../src/adapters/jetstream/jetstream-fact-log.js";
import { provisionStoreBuffers } from "../../src/adapters/jetstream/provisioning.js";
import { isDomainError } from "../../src/domain/errors.js";
import { silentLogger } from "../../src/ports/logger.js";
import { categorySpec } from "../fixtures/category-spec.js";
import { peerConsumer } from "../fixtures/consumers.js";
import { envelope, record } from "../fixtures/facts.js";
import { type NatsServerHandle, startNatsServer } from "../fixtures/nats-server.js";
import { storeBufferOn } from "../fixtures/store-buffer-on.js";

// After handing out a full batch the log pulls the next one in the background
// (a backlog is being read). Whatever the next read asks for — the same batch
// size, a smaller one, another position — or whatever happened to the
// background pull, the reader gets exactly the facts after its offset.

const spec = categorySpec();
const consumer = peerConsumer("plant-a", "operational");
const TOTAL = 60;

let server: NatsServerHandle;
let nc: NatsConnection;
let jsm: JetStreamManager;

beforeAll(async () => {
  server = await startNatsServer();
  nc = await connect({ servers: server.url });
  jsm = await jetstreamManager(nc);
  await provisionStoreBuffers(jsm, [spec], silentLogger);
  const store = storeBufferOn(nc, jsm, [spec]);
  const outcomes = await store.append(
    Array.from({ length: TOTAL }, (_, i) => record({ envelope: envelope({ messageId: `pf-${i + 1}` }) })),
  );
  if (outcomes.some(isDomainError)) throw new Error("setup append failed");
});

afterAll(async () => {
  await nc?.close();
  await server?.stop();
});

const offsets = (facts: ReadonlyArray<{ offset: number }>) => facts.map((f) => f.offset);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

async function readerConsumers(): Promise<string[]> {
  const names: string[] = [];
  for await (const info of jsm.consumers.list(`facts_${spec.name}`)) {
    if (info.name.startsWith("bsfg_read_")) names.push(info.name);
  }
  return names;
}

describe("JetStreamFactLog read-ahead of a backlog", () => {
  it("hands out consecutive full batches without a gap or a repeat", async () => {
    const log = new JetStreamFactLog(() => ({ nc, jsm }));
    const seen: number[] = [];
    let after = 0;
    for (;;) {
      const facts = await log.read(consumer, after, 7, 0);
      if (facts.length === 0) break;
      seen.push(...offsets(facts));
      after = facts.at(-1)?.offset ?? after;
    }
    expect(seen).toEqual(range(1, TOTAL));
  });

  it("gives a smaller batch than the one read ahead, then continues right after it", async () => {
    const log = new JetStreamFactLog(() => ({ nc, jsm }));
    expect(offsets(await log.read(consumer, 0, 10, 0))).toEqual(range(1, 10));
    // 11..20 were pulled in the background; only 11..15 may be handed out now.
    expect(offsets(await log.read(consumer, 10, 5, 0))).toEqual(range(11, 15));
    // A batch may be smaller than asked for (it never exceeds the byte budget); none is skipped.
    const rest: number[] = [];
    let after = 15;
    for (;;) {
      const facts = await log.read(consumer, after, 10, 0);
      if (facts.length === 0) break;
      expect(facts.length).toBeLessThanOrEqual(10);
      rest.push(...offsets(facts));
      after = facts.at(-1)?.offset ?? after;
    }
    expect(rest).toEqual(range(16, TOTAL));
  });

  it("repeats from an earlier offset (no confirm came) although the next batch was read ahead", async () => {
    const log = new JetStreamFactLog(() => ({ nc, jsm }));
    expect(offsets(await log.read(consumer, 0, 10, 0))).toEqual(range(1, 10));
    expect(offsets(await log.read(consumer, 0, 10, 0))).toEqual(range(1, 10));
    expect(offsets(await log.read(consumer, 10, 10, 0))).toEqual(range(11, 20));
  });

  it("lets go of a batch read ahead that nobody comes for, and still continues right after", async () => {
    const log = new JetStreamFactLog(() => ({ nc, jsm }), { prefetchTtlMs: 50 });
    const before = new Set(await readerConsumers());
    expect(offsets(await log.read(consumer, 0, 10, 0))).toEqual(range(1, 10));
    const mine = (await readerConsumers()).filter((n) => !before.has(n));
    expect(mine).toHaveLength(1);
    // The reader (and its server-side consumer) is dropped with the batch it held.
    for (let i = 0; i < 100 && (await readerConsumers()).includes(mine[0] as string); i++)
      await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await readerConsumers()).not.toContain(mine[0]);
    expect(offsets(await log.read(consumer, 10, 10, 0))).toEqual(range(11, 20));
  });

  it("recovers when the server-side reader vanished under the background pull", async () => {
    const log = new JetStreamFactLog(() => ({ nc, jsm }));
    const before = new Set(await readerConsumers());
    expect(offsets(await log.read(consumer, 0, 10, 0))).toEqual(range(1, 10));
    const mine = (await readerConsumers()).filter((n) => !before.has(n));
    expect(mine).toHaveLength(1);
    await jsm.consumers.delete(`facts_${spec.name}`, mine[0] as string);
    expect(offsets(await log.read(consumer, 10, 10, 0))).toEqual(range(11, 20));
    expect(offsets(await log.read(consumer, 20, 10, 0))).toEqual(range(21, 30));
  });
});
