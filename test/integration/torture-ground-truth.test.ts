import { type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { connect, headers, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { CURSOR_BUCKET } from "../../src/adapters/jetstream/buffer-subjects.js";
import { type AppendSpec, Ledger, verifyDrained } from "../fixtures/handoff-truth.js";
import { type NatsServerHandle, startNatsServer } from "../fixtures/nats-server.js";
import type { Zones } from "../fixtures/zones.js";

// verifyDrained (the torture campaign's end-of-run check) against real
// JetStream contents that were tampered with, so its reads (streams by
// sequence, cursors from the KV stream) are shown to surface each planted bug.
// The zones here are only their nats-servers: the stored facts are written by
// hand in the shape the node stores them.

const ZONES = ["enterprise", "plant-a"] as const;
const CATEGORIES = ["operational"] as const;
const servers = new Map<string, NatsServerHandle>();
const conns = new Map<string, NatsConnection>();

/** Just enough of Zones for the ground-truth reads: names and each zone's NATS URLs. */
const zones = {
  names: ZONES,
  zone: (name: string) => ({ name, natsUrls: [(servers.get(name) as NatsServerHandle).url] }),
} as unknown as Zones;

const spec = (from: string, n: number): AppendSpec => ({
  from,
  to: from === "enterprise" ? "plant-a" : "enterprise",
  category: "operational",
  id: `${from}-${n}`,
});

const body = (s: AppendSpec) =>
  JSON.stringify({ category: s.category, envelope: { message_id: s.id, from_zone: s.from, to_zone: s.to } });

const jsmOf = (zone: string): Promise<JetStreamManager> =>
  jetstreamManager(conns.get(zone) as NatsConnection);
const js = (zone: string) => jetstream(conns.get(zone) as NatsConnection);
const storeFact = (s: AppendSpec) => js(s.from).publish(`facts.operational.${s.to}.order`, body(s));
const forwardFact = (s: AppendSpec, sourceOffset: number) => {
  const source = headers();
  source.set("Bsfg-Source-Zone", s.from);
  source.set("Bsfg-Source-Offset", String(sourceOffset));
  return js(s.to).publish(`forward.operational.${s.from}`, body(s), { headers: source });
};
const setCursor = async (zone: string, consumer: string, value: number) => {
  const kv = await new Kvm(js(zone)).open(CURSOR_BUCKET);
  await kv.put(consumer, String(value));
};

const e = [1, 2, 3, 4].map((n) => spec("enterprise", n));
const p = [1, 2].map((n) => spec("plant-a", n));
let ledger: Ledger;

beforeAll(async () => {
  for (const zone of ZONES) {
    const server = await startNatsServer();
    servers.set(zone, server);
    conns.set(zone, await connect({ servers: server.url }));
  }
});

afterAll(async () => {
  for (const nc of conns.values()) await nc.close();
  for (const s of servers.values()) await s.stop();
});

/** Fresh streams holding the source facts, each acknowledged at its offset in the ledger. */
beforeEach(async () => {
  for (const zone of ZONES) {
    const jsm = await jsmOf(zone);
    for (const name of await jsm.streams.names().next()) await jsm.streams.delete(name);
    await jsm.streams.add({ name: "facts_operational", subjects: ["facts.operational.>"] });
    await jsm.streams.add({ name: "forward_operational", subjects: ["forward.operational.>"] });
    await new Kvm(js(zone)).create(CURSOR_BUCKET, { history: 1 });
  }
  ledger = new Ledger();
  for (const s of [...e, ...p]) {
    ledger.request(s);
    ledger.record(s, { ok: true, offset: Number((await storeFact(s)).seq), duplicate: false });
  }
});

/** Delivers every source fact in order and moves the source cursors to the end. */
async function deliverAll(): Promise<void> {
  for (const [i, s] of e.entries()) await forwardFact(s, i + 1);
  for (const [i, s] of p.entries()) await forwardFact(s, i + 1);
  await setCursor("enterprise", "peer.plant-a.operational", 4);
  await setCursor("plant-a", "peer.enterprise.operational", 2);
}

const verdict = (timeoutMs = 1_000) =>
  verifyDrained(zones, ledger, CATEGORIES, timeoutMs).then(
    () => "passed",
    (error: Error) => error.message,
  );

describe("verifyDrained on tampered JetStream contents", () => {
  it("passes when every fact crossed once, in order, with the cursors at the end", async () => {
    await deliverAll();
    expect(await verdict()).toBe("passed");
  });

  it("reports a fact deleted from the destination's forward buffer", async () => {
    await deliverAll();
    await (await jsmOf("plant-a")).streams.deleteMessage("forward_operational", 2);
    const found = await verdict();
    expect(found).toMatch(/NOT DRAINED: plant-a forward_operational: 3\/4/);
    expect(found).toMatch(/LOST: 1 of 4 facts enterprise→plant-a operational missing, e\.g\. enterprise-2@2/);
  });

  it("reports a fact delivered twice", async () => {
    await deliverAll();
    await forwardFact(e[2] as AppendSpec, 3);
    expect(await verdict()).toMatch(
      /DUPLICATE: enterprise-3 at plant-a forward_operational@5 and plant-a forward_operational@3/,
    );
  });

  it("reports an out-of-order pair", async () => {
    await forwardFact(e[0] as AppendSpec, 1);
    await forwardFact(e[2] as AppendSpec, 3);
    await forwardFact(e[1] as AppendSpec, 2);
    await forwardFact(e[3] as AppendSpec, 4);
    for (const [i, s] of p.entries()) await forwardFact(s, i + 1);
    await setCursor("enterprise", "peer.plant-a.operational", 4);
    await setCursor("plant-a", "peer.enterprise.operational", 2);
    expect(await verdict()).toMatch(
      /ORDER: plant-a forward_operational@3: enterprise-2 \(source offset 2 from enterprise\) after source offset 3/,
    );
  });

  it("reports a source cursor that went back", async () => {
    await deliverAll();
    await setCursor("enterprise", "peer.plant-a.operational", 1);
    expect(await verdict()).toMatch(/enterprise cursor of peer\.plant-a\.operational is 1, last fact 4/);
  });

  it("reports an acknowledged fact missing from its source store buffer", async () => {
    await deliverAll();
    await (await jsmOf("plant-a")).streams.deleteMessage("facts_operational", 1);
    expect(await verdict()).toMatch(/LOST at source: plant-a-1 acknowledged at offset 1/);
  });
});
