import { setTimeout as delay } from "node:timers/promises";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { afterEach, describe, expect, it } from "vitest";
import {
  type AppendSpec,
  Ledger,
  LocalReader,
  Producer,
  retryUnacknowledged,
  verifyConsumers,
  verifyDrained,
} from "../fixtures/handoff-truth.js";
import { eventually } from "../fixtures/test-node.js";
import { startZones, type Zone, type Zones } from "../fixtures/zones.js";

// Fault tests of the cross-zone handoff with real processes: one nats-server
// and one `bsfg serve` per zone, peers reached through TCP proxies the test
// can cut. Every scenario ends with the ground-truth check of
// test/fixtures/handoff-truth.ts: nothing acknowledged lost, nothing
// duplicated, source order kept, local consumers see it all in order.

const OPERATIONAL = ["operational"] as const;

let zones: Zones | undefined;
afterEach(async () => {
  await zones?.stop();
  zones = undefined;
});

async function gateState(zone: Zone, peer: string): Promise<string | undefined> {
  return (await zone.status()).gates[peer]?.state;
}

async function gatesAre(zs: Zones, state: string): Promise<boolean> {
  for (const name of zs.names) {
    const status = await zs.zone(name).status();
    for (const peer of zs.names) {
      if (peer !== name && status.gates[peer]?.state !== state) return false;
    }
  }
  return true;
}

/** A few facts each way, drained and verified, so the links are known good before the fault. */
async function warmUp(zs: Zones, ledger: Ledger, perPair = 10): Promise<void> {
  for (const from of zs.names) {
    for (const to of zs.names) {
      if (from === to) continue;
      for (let i = 0; i < perPair; i++) {
        const spec: AppendSpec = { from, to, category: "operational", id: `warm-${from}-${to}-${i}` };
        expect(await ledger.append(zs.zone(from).client, spec)).toMatchObject({ ok: true });
      }
    }
  }
  await verifyDrained(zs, ledger, OPERATIONAL, 30_000);
  await eventually(() => gatesAre(zs, "open"), 20_000, "every gate open");
}

async function forwardCount(zone: Zone, category = "operational"): Promise<number> {
  const nc = await connect({ servers: zone.nats.url });
  try {
    return (await (await jetstreamManager(nc)).streams.info(`forward_${category}`)).state.messages;
  } finally {
    await nc.close();
  }
}

describe("cross-zone handoff under faults (real processes)", () => {
  it("a: a partition during continuous appends on both sides loses, duplicates and reorders nothing", async () => {
    zones = await startZones(["enterprise", "plant-a"]);
    const ent = zones.zone("enterprise");
    const plant = zones.zone("plant-a");
    const ledger = new Ledger();
    await warmUp(zones, ledger);

    // Cut both directions: neither receiver loop can reach the other node.
    ent.proxy.cut();
    plant.proxy.cut();
    await eventually(
      async () =>
        (await gateState(ent, "plant-a")) === "closed" && (await gateState(plant, "enterprise")) === "closed",
      15_000,
      "both gates closed",
    );

    const producers = [
      new Producer(ledger, ent.client, "enterprise", ["plant-a"], OPERATIONAL, "part-ent").start(300, {
        batch: 10,
      }),
      new Producer(ledger, plant.client, "plant-a", ["enterprise"], OPERATIONAL, "part-plant").start(300, {
        batch: 10,
      }),
    ];
    // Local consumers keep working: each zone's reader consumes (and confirms) the warm-up facts now.
    const readers = new Map([
      ["enterprise/operational", new LocalReader(ent, "operational")],
      ["plant-a/operational", new LocalReader(plant, "operational")],
    ]);
    const consumedDuringPartition = await Promise.all([...readers.values()].map((r) => r.step(1000, 0)));
    expect(consumedDuringPartition).toEqual([10, 10]);

    const gateSamples: string[] = [];
    const until = Date.now() + 2500;
    while (Date.now() < until) {
      gateSamples.push(`${await gateState(ent, "plant-a")}`, `${await gateState(plant, "enterprise")}`);
      await delay(100);
    }
    await Promise.all(producers.map((p) => p.stop()));

    // Producers were not affected at all.
    for (const p of producers) {
      expect(p.failures()).toEqual([]);
      expect(p.count).toBeGreaterThan(400);
    }
    expect(new Set(gateSamples)).toEqual(new Set(["closed"]));
    // Nothing crossed while cut.
    expect(await forwardCount(ent)).toBe(10);
    expect(await forwardCount(plant)).toBe(10);

    ent.proxy.heal();
    plant.proxy.heal();
    const snap = await verifyDrained(zones, ledger, OPERATIONAL, 60_000);
    await verifyConsumers(zones, snap, OPERATIONAL, readers);
    await eventually(() => gatesAre(zones as Zones, "open"), 20_000, "gates open again");
    expect(ledger.acknowledged().length).toBe(20 + producers.reduce((n, p) => n + p.count, 0));
  });

  it("b: kill -9 of the receiving node in the middle of draining a large backlog", async () => {
    zones = await startZones(["enterprise", "plant-a"]);
    const ent = zones.zone("enterprise");
    const plant = zones.zone("plant-a");
    const ledger = new Ledger();
    await warmUp(zones, ledger, 5);

    // plant-a cannot pull from enterprise while the backlog builds.
    ent.proxy.cut();
    await eventually(async () => (await gateState(plant, "enterprise")) === "closed", 15_000, "gate closed");
    const BACKLOG = 5000;
    const BATCH = 250;
    for (let start = 0; start < BACKLOG; start += BATCH) {
      const specs = Array.from({ length: BATCH }, (_, i) => ({
        from: "enterprise",
        to: "plant-a",
        category: "operational",
        id: `backlog-${start + i}`,
      }));
      const outcomes = await ledger.appendBatch(ent.client, specs);
      expect(outcomes.filter((o) => !o.ok)).toEqual([]);
    }
    const total = 5 + BACKLOG;
    expect(await forwardCount(plant)).toBe(5);

    ent.proxy.heal();
    // Crash the receiving node as soon as part of the backlog arrived, twice.
    const nc = await connect({ servers: plant.nats.url });
    const kills: number[] = [];
    try {
      const jsm = await jetstreamManager(nc);
      const count = async () => (await jsm.streams.info("forward_operational")).state.messages;
      for (const threshold of [5, Math.floor(total / 2)]) {
        await eventually(async () => (await count()) > threshold, 60_000, `more than ${threshold} imported`);
        await plant.node.kill();
        kills.push(await count());
        await plant.node.start();
      }
    } finally {
      await nc.close();
    }
    // Both crashes happened mid-drain.
    for (const atKill of kills) expect(atKill).toBeLessThan(total);

    const snap = await verifyDrained(zones, ledger, OPERATIONAL, 60_000);
    expect(snap.forward.get("plant-a")?.get("operational")?.length).toBe(total);
    await verifyConsumers(zones, snap, OPERATIONAL);
  });

  for (const victim of ["sending", "receiving"] as const) {
    it(`c: kill -9 and restart of the ${victim} zone's nats-server while facts flow`, async () => {
      zones = await startZones(["enterprise", "plant-a"]);
      const ent = zones.zone("enterprise");
      const plant = zones.zone("plant-a");
      const ledger = new Ledger();
      await warmUp(zones, ledger, 5);

      // Half the facts as single AppendFact calls, half as AppendFacts batches.
      const producers = [
        new Producer(ledger, ent.client, "enterprise", ["plant-a"], OPERATIONAL, "single").start(150),
        new Producer(ledger, ent.client, "enterprise", ["plant-a"], OPERATIONAL, "batched").start(150, {
          batch: 5,
          lanes: 4,
        }),
      ];
      const produced = () => producers.reduce((n, p) => n + p.count, 0);
      await eventually(() => produced() > 200, 20_000, "facts flowing");
      await eventually(async () => (await forwardCount(plant)) > 50, 20_000, "facts crossing");
      const victimZone = victim === "sending" ? ent : plant;
      await victimZone.nats.kill();
      const outage = delay(3000);
      if (victim === "sending") {
        // Once the node knows its NATS is gone, appends fail fast with `unavailable`.
        await eventually(
          async () => (await fetch(`${ent.adminUrl}/readyz`)).status === 503,
          5_000,
          "node not ready",
        );
        for (let i = 0; i < 3; i++) {
          const spec = { from: "enterprise", to: "plant-a", category: "operational", id: `probe-${i}` };
          const started = Date.now();
          expect(await ledger.append(ent.client, spec)).toMatchObject({ ok: false, code: "unavailable" });
          expect(Date.now() - started).toBeLessThan(1000);
        }
      }
      await outage;
      await victimZone.nats.restart();
      await eventually(
        async () => (await fetch(`${victimZone.adminUrl}/readyz`)).status === 200,
        30_000,
        "node ready again",
      );
      // Keep producing after recovery, then stop.
      const resumed = producers.map((p) => p.count);
      await eventually(
        () =>
          producers.every((p, i) => p.outcomes.slice(resumed[i]).filter((o) => o.outcome.ok).length > 100),
        30_000,
        "appends succeeding again",
      );
      await Promise.all(producers.map((p) => p.stop()));

      const failures = producers.flatMap((p) => p.failures());
      if (victim === "sending") {
        // The outage was felt by producers, and only ever as `unavailable`.
        expect(failures.length).toBeGreaterThan(0);
        expect(ledger.failureCodes()).toEqual({ unavailable: failures.length + 3 });
        // Each failure is a distinct id; retried with the same message_id and content, each is
        // acknowledged now (duplicate=true with its original offset if the failed attempt had landed).
        expect(ledger.unacknowledged().length).toBe(failures.length + 3);
        expect(await retryUnacknowledged(zones, ledger)).toBe(failures.length + 3);
      } else {
        // The receiving zone's outage changes nothing for the sending zone's producers.
        expect(failures).toEqual([]);
      }
      expect(ledger.unacknowledged()).toEqual([]);

      const snap = await verifyDrained(zones, ledger, OPERATIONAL, 60_000);
      await verifyConsumers(zones, snap, OPERATIONAL);
    });
  }

  it("d: three zones route by to_zone; each fact arrives exactly once, only at its destination", async () => {
    const names = ["enterprise", "plant-a", "plant-b"];
    zones = await startZones(names);
    const ledger = new Ledger();
    const categories = ["operational", "audit"] as const;
    const producers = names.map((from) =>
      new Producer(
        ledger,
        (zones as Zones).zone(from).client,
        from,
        names.filter((n) => n !== from),
        categories,
        `mesh-${from}`,
      ).start(200, { batch: 10, lanes: 4 }),
    );
    // A short partition of plant-a from both its peers in the middle of it.
    await delay(700);
    zones.zone("plant-a").proxy.cut();
    await delay(1000);
    zones.zone("plant-a").proxy.heal();
    await delay(800);
    await Promise.all(producers.map((p) => p.stop()));
    for (const p of producers) expect(p.failures()).toEqual([]);

    const snap = await verifyDrained(zones, ledger, categories, 60_000);
    for (const [zone, other] of [
      ["plant-a", "plant-b"],
      ["plant-b", "plant-a"],
    ] as const) {
      for (const c of categories) {
        const records = snap.forward.get(zone)?.get(c) ?? [];
        expect(records.filter((r) => r.toZone === other)).toEqual([]);
        expect(records.length).toBeGreaterThan(0);
      }
    }
    // Every acknowledged fact is at its destination exactly once (verifyDrained), and nowhere else.
    const byZone = new Map(
      names.map((n) => [
        n,
        new Set(categories.flatMap((c) => (snap.forward.get(n)?.get(c) ?? []).map((r) => r.messageId))),
      ]),
    );
    for (const entry of ledger.acknowledged()) {
      for (const n of names) expect(byZone.get(n)?.has(entry.spec.id)).toBe(n === entry.spec.to);
    }
    await verifyConsumers(zones, snap, categories);
  });
});
