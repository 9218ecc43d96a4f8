import { type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JetStreamStoreBuffer } from "../../src/adapters/jetstream/jetstream-store-buffer.js";
import { PipelinedPublisher } from "../../src/adapters/jetstream/pipelined-publisher.js";
import { provisionStoreBuffers } from "../../src/adapters/jetstream/provisioning.js";
import { isDomainError } from "../../src/domain/errors.js";
import { silentLogger } from "../../src/ports/logger.js";
import { storeBufferContract } from "../contract/store-buffer.contract.js";
import { categorySpec } from "../fixtures/category-spec.js";
import { record } from "../fixtures/facts.js";
import { type NatsServerHandle, startNatsServer } from "../fixtures/nats-server.js";
import { storeBufferOn } from "../fixtures/store-buffer-on.js";

const spec = categorySpec;

const specs = [
  spec("operational"),
  spec("audit"),
  spec("telemetry", { dedup: "window", duplicateWindowMs: 60_000 }),
];

let server: NatsServerHandle;
let nc: NatsConnection;
let jsm: JetStreamManager;

beforeAll(async () => {
  server = await startNatsServer();
  nc = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  jsm = await jetstreamManager(nc);
  await provisionStoreBuffers(jsm, specs, silentLogger);
});

afterAll(async () => {
  await nc?.close();
  await server?.stop();
});

function makeStore(fill: (c: string) => number = () => 0): JetStreamStoreBuffer {
  return new JetStreamStoreBuffer({
    jetstream: () => ({ publisher: new PipelinedPublisher(nc), jsm }),
    categories: specs,
    publishTimeoutMs: 3000,
    isConnected: () => !nc.isClosed(),
    fillPercent: fill,
  });
}

storeBufferContract("jetstream", () => makeStore());

/** What a repeat of the append that stored `first` must get back: the same fact, where it is. */
function existingAs(first: unknown, category: string, digest: string) {
  return { kind: "existing", offset: (first as { offset: number }).offset, category, digest };
}

describe("JetStreamStoreBuffer specifics", () => {
  it("stores each fact on a subject carrying category, destination and kind", async () => {
    const r = record();
    const [outcome] = await makeStore().append([r]);
    if (outcome === undefined || isDomainError(outcome)) throw new Error("append failed");
    const stored = await jsm.streams.getMessage("facts_operational", { seq: outcome.offset });
    expect(stored?.subject).toMatch(/^facts\.operational\.plant-a\.order\.[A-Za-z0-9_-]+$/);
    expect(JSON.parse(new TextDecoder().decode(stored?.data))).toMatchObject({
      v: 1,
      digest: r.digest,
      envelope: { message_id: r.envelope.messageId, to_zone: "plant-a" },
      fact: { subject: r.fact.subject },
    });
  });

  it("completes a claim whose writer crashed before storing the fact", async () => {
    const r = record();
    // Simulate the crash window: the claim exists, the fact does not.
    const { indexSubject, factSubject } = await import("../../src/adapters/jetstream/category-spec.js");
    const { encodeClaim } = await import("../../src/adapters/jetstream/fact-codec.js");
    await jetstream(nc).publish(
      indexSubject(r.envelope.messageId),
      encodeClaim({
        digest: r.digest,
        category: "operational",
        subject: factSubject(spec("operational"), "plant-a", "order", r.envelope.messageId),
      }),
      { expect: { lastSubjectSequence: 0 } },
    );
    const [retry] = await makeStore().append([r]);
    expect(retry).toMatchObject({ kind: "stored" });
    const [again] = await makeStore().append([r]);
    expect(again).toMatchObject({ kind: "existing", digest: r.digest });
  });

  it("answers a retry with one read of the stored fact, writing nothing", async () => {
    const r = record();
    const [first] = await makeStore().append([r]);
    // Everything the store sends to NATS while it answers the retry.
    const seen: string[] = [];
    const spy = await connect({ servers: server.url });
    spy.subscribe(">", {
      callback: (_e, m) => {
        seen.push(m.subject);
      },
    });
    await spy.flush();
    const [retry] = await makeStore().append([r]);
    await nc.flush();
    await spy.flush();
    await spy.close();
    expect(first).toMatchObject({ kind: "stored" });
    expect(retry).toEqual(existingAs(first, "operational", r.digest));
    const apiCalls = seen.filter((s) => s.startsWith("$JS.API."));
    expect(apiCalls).toEqual(["$JS.API.STREAM.MSG.GET.facts_operational"]);
    expect(seen.filter((s) => s.startsWith("facts."))).toEqual([]);
  });

  it("deduplicates window-mode categories within the duplicate window", async () => {
    const r = record({ category: "telemetry", subjectKind: "sensor" });
    const [first] = await makeStore().append([r]);
    const [second] = await makeStore().append([{ ...r, digest: "sha256:changed" }]);
    expect(first).toMatchObject({ kind: "stored" });
    expect(second).toEqual(existingAs(first, "telemetry", r.digest));
  });

  it("keeps index-mode idempotency across a nats-server crash and restart", async () => {
    const store = makeStore();
    const r = record();
    const [first] = await store.append([r]);
    await server.kill();
    await server.restart();
    let outcome: Awaited<ReturnType<JetStreamStoreBuffer["append"]>>[number] | undefined;
    for (let i = 0; i < 100; i++) {
      [outcome] = await store.append([r]);
      if (outcome !== undefined && !isDomainError(outcome)) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(outcome).toEqual(existingAs(first, "operational", r.digest));
  });

  it("reports a full stream (discard new) as back_pressure, writing nothing", async () => {
    const tiny = [spec("tiny", { maxBytes: 4096 })];
    await provisionStoreBuffers(jsm, tiny, silentLogger);
    const store = storeBufferOn(nc, jsm, tiny, 3000);
    const outcomes = await store.append(Array.from({ length: 40 }, () => record({ category: "tiny" })));
    const refused = outcomes.filter(isDomainError);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((e) => e.kind === "back_pressure")).toBe(true);
    const info = await jsm.streams.info("facts_tiny");
    expect(info.state.messages).toBe(outcomes.length - refused.length);
  });
});
