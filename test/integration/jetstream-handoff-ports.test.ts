import { type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { type KV, Kvm } from "@nats-io/kv";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CURSOR_BUCKET } from "../../src/adapters/jetstream/buffer-subjects.js";
import {
  deliverySequence,
  JetStreamFactLog,
  streamSequence,
} from "../../src/adapters/jetstream/jetstream-fact-log.js";
import { JetStreamForwardBuffer } from "../../src/adapters/jetstream/jetstream-forward-buffer.js";
import { KvCursorStore } from "../../src/adapters/jetstream/kv-cursor-store.js";
import { PipelinedPublisher } from "../../src/adapters/jetstream/pipelined-publisher.js";
import { provisionForwardBuffers, provisionStoreBuffers } from "../../src/adapters/jetstream/provisioning.js";
import type { ConsumerSpec } from "../../src/domain/consumer-policy.js";
import { silentLogger } from "../../src/ports/logger.js";
import { cursorStoreContract } from "../contract/cursor-store.contract.js";
import { forwardBufferContract } from "../contract/forward-buffer.contract.js";
import { categorySpec } from "../fixtures/category-spec.js";
import { record } from "../fixtures/facts.js";
import { type NatsServerHandle, startNatsServer } from "../fixtures/nats-server.js";
import { storeBufferOn } from "../fixtures/store-buffer-on.js";

const spec = categorySpec();

let server: NatsServerHandle;
let nc: NatsConnection;
let jsm: JetStreamManager;
let kv: KV;

beforeAll(async () => {
  server = await startNatsServer();
  nc = await connect({ servers: server.url });
  jsm = await jetstreamManager(nc);
  await provisionStoreBuffers(jsm, [spec], silentLogger);
  await provisionForwardBuffers(jsm, [spec], silentLogger);
  kv = await new Kvm(jetstream(nc)).create(CURSOR_BUCKET, { history: 1 });
});

afterAll(async () => {
  await nc?.close();
  await server?.stop();
});

cursorStoreContract("jetstream kv", () => new KvCursorStore(() => kv));
forwardBufferContract(
  "jetstream",
  () =>
    new JetStreamForwardBuffer({
      jetstream: () => ({ publisher: new PipelinedPublisher(nc), jsm }),
      publishTimeoutMs: 5000,
    }),
);

describe("JetStreamFactLog", () => {
  const peerConsumer: ConsumerSpec = {
    kind: "peer",
    name: "peer.plant-a.operational",
    category: "operational",
    peerZone: "plant-a",
    peerIdentity: "plant-a-bsfg",
  };

  it("reads only facts addressed to the consumer's peer, in offset order, repeatably", async () => {
    const store = storeBufferOn(nc, jsm, [spec], 5000);
    const mine = Array.from({ length: 5 }, () => record());
    const others = Array.from({ length: 5 }, () => {
      const r = record();
      return { ...r, envelope: { ...r.envelope, toZone: "plant-b" } };
    });
    await store.append(mine.flatMap((m, i) => [m, others[i] ?? m]));
    const log = new JetStreamFactLog(() => ({ nc, jsm }));
    const first = await log.read(peerConsumer, 0, 3, 0);
    expect(first.map((f) => f.envelope.toZone)).toEqual(["plant-a", "plant-a", "plant-a"]);
    expect(first.map((f) => f.envelope.messageId)).toEqual(mine.slice(0, 3).map((m) => m.envelope.messageId));
    // Same position again (nothing confirmed): the same facts.
    expect((await log.read(peerConsumer, 0, 3, 0)).map((f) => f.offset)).toEqual(first.map((f) => f.offset));
    // Continuing after the last one handed out.
    const rest = await log.read(peerConsumer, first.at(-1)?.offset ?? 0, 10, 0);
    expect(rest.map((f) => f.envelope.messageId)).toEqual(mine.slice(3).map((m) => m.envelope.messageId));
    expect(await log.read(peerConsumer, rest.at(-1)?.offset ?? 0, 10, 0)).toEqual([]);
    expect(await log.head(peerConsumer)).toBe((await jsm.streams.info("facts_operational")).state.last_seq);
  });

  it("long-polls with one JetStream request: it waits for the first fact and hands it out with what came along", async () => {
    const store = storeBufferOn(nc, jsm, [spec], 5000);
    const log = new JetStreamFactLog(() => ({ nc, jsm }));
    const head = await log.head(peerConsumer);
    // Position the reader at the head first, so the read below only waits.
    expect(await log.read(peerConsumer, head, 10, 0)).toEqual([]);
    const pulls: string[] = [];
    const spy = await connect({ servers: server.url });
    spy.subscribe("$JS.API.CONSUMER.MSG.NEXT.>", { callback: (_e, m) => void pulls.push(m.subject) });
    await spy.flush();
    const later = Array.from({ length: 3 }, () => record());
    const reading = log.read(peerConsumer, head, 10, 5000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await store.append(later);
    const got = await reading;
    await spy.flush();
    expect(pulls).toHaveLength(1);
    // Facts stored together may still be handed out across two reads; never out of order, and
    // what is already there comes at once, whatever the wait, also in one request.
    const rest =
      got.length < later.length ? await log.read(peerConsumer, got.at(-1)?.offset ?? head, 10, 5000) : [];
    await spy.flush();
    await spy.close();
    expect(got.length).toBeGreaterThan(0);
    expect([...got, ...rest].map((f) => f.envelope.messageId)).toEqual(
      later.map((m) => m.envelope.messageId),
    );
    expect(pulls).toHaveLength(rest.length > 0 ? 2 : 1);
  });

  it("answers a read whose caller already gave up at once, with nothing, instead of parking a pull", async () => {
    const log = new JetStreamFactLog(() => ({ nc, jsm }));
    const head = await log.head(peerConsumer);
    const pulls: string[] = [];
    const spy = await connect({ servers: server.url });
    spy.subscribe("$JS.API.CONSUMER.MSG.NEXT.>", { callback: (_e, m) => void pulls.push(m.subject) });
    await spy.flush();
    // A five-minute wait: a parked pull would outlast the test's timeout.
    expect(await log.read(peerConsumer, head, 10, 300_000, AbortSignal.abort())).toEqual([]);
    await spy.flush();
    await spy.close();
    expect(pulls).toEqual([]);
  });

  it("parses both forms of JetStream delivery subjects", () => {
    expect(streamSequence("$JS.ACK.facts_operational.c1.1.42.7.1700000000000000000.3")).toBe(42);
    expect(streamSequence("$JS.ACK.dom.acc.facts_operational.c1.1.43.7.1700000000000000000.3.rnd")).toBe(43);
    expect(() => streamSequence("_INBOX.x")).toThrow(/unexpected JetStream delivery subject/);
    expect(deliverySequence("$JS.ACK.facts_operational.c1.1.42.7.1700000000000000000.3")).toBe(7);
    expect(deliverySequence("$JS.ACK.dom.acc.facts_operational.c1.1.43.9007199254740991.1.3.rnd")).toBe(
      Number.MAX_SAFE_INTEGER,
    );
    for (const bad of [
      "$JS.ACK.facts_operational.c1.1.4x.7.1700000000000000000.3",
      "$JS.ACK.facts_operational.c1.1..7.1700000000000000000.3",
      "$JS.ACK.facts_operational.c1.1.-4.7.1700000000000000000.3",
      "$JS.ACK.facts_operational.c1.1.9007199254740993.7.1700000000000000000.3",
      "$JS.ACK.facts_operational.c1.1.42.7.1700000000000000000",
      "$JS.NAK.facts_operational.c1.1.42.7.1700000000000000000.3",
    ])
      expect(() => streamSequence(bad), bad).toThrow(/unexpected JetStream delivery subject/);
  });
});
