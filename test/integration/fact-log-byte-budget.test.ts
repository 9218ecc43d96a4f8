import { type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FETCH_MAX_BYTES, JetStreamFactLog } from "../../src/adapters/jetstream/jetstream-fact-log.js";
import { provisionStoreBuffers } from "../../src/adapters/jetstream/provisioning.js";
import type { ConsumerSpec } from "../../src/domain/consumer-policy.js";
import { isDomainError } from "../../src/domain/errors.js";
import { silentLogger } from "../../src/ports/logger.js";
import { categorySpec } from "../fixtures/category-spec.js";
import { fact, record } from "../fixtures/facts.js";
import { type NatsServerHandle, startNatsServer } from "../fixtures/nats-server.js";
import { storeBufferOn } from "../fixtures/store-buffer-on.js";

// A fetch is bounded by bytes as well as by count, so a batch of large facts
// cannot become a response of hundreds of MiB held in both nodes, and a fact
// larger than the whole budget still crosses, alone.

const MIB = 1024 * 1024;
const spec = categorySpec("operational", { maxBytes: 512 * MIB, maxMsgBytes: 8 * MIB });
// The enterprise side of a crossing: plant-a's peer consumer reads the store buffer.
const reader: ConsumerSpec = {
  kind: "peer",
  name: "peer.plant-a.operational",
  category: "operational",
  peerZone: "plant-a",
  peerIdentity: "plant-a-bsfg",
};

let server: NatsServerHandle;
let nc: NatsConnection;
let jsm: JetStreamManager;

beforeAll(async () => {
  server = await startNatsServer({ configText: "max_payload: 8MB\n" });
  nc = await connect({ servers: server.url });
  jsm = await jetstreamManager(nc);
  await provisionStoreBuffers(jsm, [spec], silentLogger);
});

afterAll(async () => {
  await nc?.close();
  await server?.stop();
});

const sized = (bytes: number) =>
  record({ fact: fact({ objectJson: `{"pad":"${"x".repeat(bytes - 10)}"}` }) });

describe("JetStreamFactLog byte budget", () => {
  it("ends a batch of large facts at the budget, hands an over-budget fact out alone, and skips nothing", async () => {
    const store = storeBufferOn(nc, jsm, [spec]);
    const records = [
      ...Array.from({ length: 12 }, () => sized(900 * 1024)),
      sized(5 * MIB),
      ...Array.from({ length: 3 }, () => sized(100)),
    ];
    for (const r of records) {
      const [outcome] = await store.append([r]);
      if (outcome === undefined || isDomainError(outcome)) throw outcome ?? new Error("no outcome");
    }
    const log = new JetStreamFactLog(() => ({ nc, jsm }));
    const batches: number[][] = [];
    const seen: string[] = [];
    let after = 0;
    for (;;) {
      const facts = await log.read(reader, after, 1000, 0);
      if (facts.length === 0) break;
      const bytes = facts.map((f) => f.fact.objectJson.length);
      batches.push(bytes);
      seen.push(...facts.map((f) => f.envelope.messageId));
      after = (facts.at(-1) as { offset: number }).offset;
    }
    expect(seen).toEqual(records.map((r) => r.envelope.messageId));
    for (const b of batches) {
      if (b.length > 1) expect(b.reduce((x, y) => x + y, 0)).toBeLessThanOrEqual(FETCH_MAX_BYTES);
    }
    // The 900 KiB facts come four to a batch; the 5 MiB one by itself.
    expect(batches[0]).toHaveLength(4);
    expect(batches.find((b) => b.some((n) => n > FETCH_MAX_BYTES))).toHaveLength(1);
  });
});
