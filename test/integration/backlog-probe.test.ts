import { beforeAll, describe, expect, it } from "vitest";
import {
  probeBacklog,
  probeWholeStream,
  readsWholeStream,
} from "../../src/adapters/jetstream/backlog-probe.js";
import { provisionStoreBuffers } from "../../src/adapters/jetstream/provisioning.js";
import { SharedStreamBacklog } from "../../src/adapters/jetstream/shared-stream-backlog.js";
import { silentLogger } from "../../src/ports/logger.js";
import { categorySpec } from "../fixtures/category-spec.js";
import { peerConsumer } from "../fixtures/consumers.js";
import { envelope, record } from "../fixtures/facts.js";
import { storeBufferOn } from "../fixtures/store-buffer-on.js";
import { useJetStream } from "../fixtures/use-jetstream.js";

const peer = peerConsumer;

const js = useJetStream();

beforeAll(async () => {
  await provisionStoreBuffers(
    js.jsm,
    [categorySpec("operational"), categorySpec("audit"), categorySpec("telemetry")],
    silentLogger,
  );
});

describe("backlog probes", () => {
  it("reads the whole stream only for a category exported to one peer", () => {
    const a = peer("plant-a", "operational");
    const b = peer("plant-b", "operational");
    const audit = peer("plant-a", "audit");
    expect(readsWholeStream(audit, [a, b, audit])).toBe(true);
    expect(readsWholeStream(a, [a, b, audit])).toBe(false);
    expect(readsWholeStream(a, [a, audit])).toBe(true);
  });

  it("counts from the stream's state what a filtered consumer counts, at any cursor", async () => {
    const store = storeBufferOn(js.nc, js.jsm, [categorySpec("operational")]);
    const outcomes = await store.append(Array.from({ length: 40 }, () => record()));
    const offsets = outcomes.map((o) => (o as { offset: number }).offset);
    const consumer = peer("plant-a", "operational");
    for (const cursor of [0, offsets[0] as number, offsets[19] as number, offsets[39] as number]) {
      const counted = await probeBacklog(js.nc, js.jsm, consumer, cursor);
      const whole = await probeWholeStream(js.jsm, consumer, cursor);
      expect(whole).toEqual(counted);
    }
    expect((await probeWholeStream(js.jsm, consumer, 0))?.facts).toBe(40);
    expect(await probeWholeStream(js.jsm, consumer, offsets[39] as number)).toEqual({
      facts: 0,
      oldestStoredAtMs: undefined,
      oldestOffset: undefined,
    });
  });

  it("gives up (undefined) when the fact after the cursor was cut out, so the caller counts", async () => {
    const store = storeBufferOn(js.nc, js.jsm, [categorySpec("audit")]);
    const outcomes = await store.append(Array.from({ length: 5 }, () => record({ category: "audit" })));
    const offsets = outcomes.map((o) => (o as { offset: number }).offset);
    await js.jsm.streams.deleteMessage("facts_audit", offsets[2] as number);
    const consumer = peer("plant-a", "audit");
    expect(await probeWholeStream(js.jsm, consumer, offsets[1] as number)).toBeUndefined();
    expect((await probeBacklog(js.nc, js.jsm, consumer, offsets[1] as number)).facts).toBe(2);
  });

  it("spaces out the exact counts of a stream two peers share, and agrees with them when it counts", async () => {
    const store = storeBufferOn(js.nc, js.jsm, [categorySpec("telemetry")]);
    const to = (zone: string, n: number) =>
      store.append(
        Array.from({ length: n }, () => {
          const r = record({ category: "telemetry" });
          return { ...r, envelope: envelope({ ...r.envelope, toZone: zone }) };
        }),
      );
    await to("plant-a", 30);
    await to("plant-b", 20);
    const a = peer("plant-a", "telemetry");
    let counts = 0;
    let now = 0;
    const shared = new SharedStreamBacklog({
      whole: (c, cursor) => probeWholeStream(js.jsm, c, cursor),
      count: (c, cursor) => {
        counts++;
        return probeBacklog(js.nc, js.jsm, c, cursor);
      },
      now: () => now,
      intervalMs: 5000,
      // 50 facts after the cursor are 5 × this: exact counts 25 s apart.
      cheapFacts: 10,
    });
    const first = await shared.probe(a, 0);
    expect(first).toEqual(await probeBacklog(js.nc, js.jsm, a, 0));
    expect(first.facts).toBe(30);
    await to("plant-a", 5);
    now = 20_000;
    expect((await shared.probe(a, 0)).facts).toBe(30);
    expect(counts).toBe(1);
    now = 30_000;
    expect((await shared.probe(a, 0)).facts).toBe(35);
    expect(counts).toBe(2);
  });
});
