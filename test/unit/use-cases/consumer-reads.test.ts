import { describe, expect, it } from "vitest";
import { InMemoryCursorStore } from "../../../src/adapters/memory/in-memory-cursor-store.js";
import type { ConsumerSpec } from "../../../src/domain/consumer-policy.js";
import { DomainError } from "../../../src/domain/errors.js";
import type { StoredFact } from "../../../src/domain/fact.js";
import type { FactLog } from "../../../src/ports/fact-log.js";
import { ConsumerReads } from "../../../src/use-cases/consumer-reads.js";
import { record } from "../../fixtures/facts.js";

const facts: StoredFact[] = Array.from({ length: 8 }, (_, i) => ({ ...record(), offset: (i + 1) * 2 }));
const log: FactLog = {
  async read(_c, after, limit) {
    return facts.filter((f) => f.offset > after).slice(0, limit);
  },
  async readRecords(c, after, limit, waitMs) {
    const read = await this.read(c, after, limit, waitMs);
    return read.map((f) => ({ offset: f.offset, bytes: new TextEncoder().encode(f.envelope.messageId) }));
  },
  async head() {
    return 16;
  },
};
const consumers = new Map<string, ConsumerSpec>([
  ["orders", { kind: "local", name: "orders", category: "operational", principals: new Set(["erp"]) }],
  [
    "peer.plant-a.operational",
    {
      kind: "peer",
      name: "peer.plant-a.operational",
      category: "operational",
      peerZone: "plant-a",
      peerIdentity: "plant-a-bsfg",
    },
  ],
]);

function reads() {
  return new ConsumerReads({
    consumers,
    log,
    cursors: new InMemoryCursorStore(),
    observer: { fetched() {}, confirmed() {} },
    defaultLimit: 3,
    maxLimit: 5,
    maxWaitMs: 1000,
  });
}

async function kind(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => "ok",
    (e: unknown) => (e instanceof DomainError ? e.kind : "other"),
  );
}

describe("ConsumerReads", () => {
  it("fetches after the cursor with the default limit and repeats until confirmed", async () => {
    const r = reads();
    const first = await r.fetch("erp", "orders", 0, 0);
    expect(first.facts.map((f) => f.offset)).toEqual([2, 4, 6]);
    expect((await r.fetch("erp", "orders", 0, 0)).facts.map((f) => f.offset)).toEqual([2, 4, 6]);
    expect(await r.confirm("erp", "orders", 6)).toBe(6);
    expect(await r.fetch("erp", "orders", 2, 0)).toEqual({ facts: [facts[3], facts[4]], cursor: 6 });
  });

  it("confirms cumulatively, idempotently, never backwards, and not beyond the head", async () => {
    const r = reads();
    expect(await r.confirm("erp", "orders", 10)).toBe(10);
    expect(await r.confirm("erp", "orders", 4)).toBe(10);
    expect(await r.confirm("erp", "orders", 10)).toBe(10);
    expect(await kind(r.confirm("erp", "orders", 17))).toBe("precondition_failed");
  });

  it("reads after after_offset when it is ahead of the cursor, without moving the cursor", async () => {
    const r = reads();
    await r.confirm("erp", "orders", 4);
    expect((await r.fetch("erp", "orders", 2, 0, undefined, 10)).facts.map((f) => f.offset)).toEqual([
      12, 14,
    ]);
    // At or below the cursor, the cursor wins: confirmed facts are never handed out again.
    expect((await r.fetch("erp", "orders", 2, 0, undefined, 2)).facts.map((f) => f.offset)).toEqual([6, 8]);
    expect((await r.fetch("erp", "orders", 2, 0, undefined, 16)).facts).toEqual([]);
    expect((await r.fetch("erp", "orders", 2, 0)).cursor).toBe(4);
    // Beyond the head, facts stored later in between would be skipped.
    expect(await kind(r.fetch("erp", "orders", 2, 0, undefined, 17))).toBe("precondition_failed");
  });

  it("does not look at the head again for a read-ahead after an offset it handed out itself", async () => {
    let heads = 0;
    const counting: FactLog = {
      read: log.read,
      readRecords: log.readRecords,
      head: (c) => {
        heads += 1;
        return log.head(c);
      },
    };
    const r = new ConsumerReads({
      consumers,
      log: counting,
      cursors: new InMemoryCursorStore(),
      observer: { fetched() {}, confirmed() {} },
      defaultLimit: 3,
      maxLimit: 5,
      maxWaitMs: 1000,
    });
    const first = await r.fetch("erp", "orders", 2, 0);
    expect(first.facts.map((f) => f.offset)).toEqual([2, 4]);
    expect((await r.fetch("erp", "orders", 2, 0, undefined, 4)).facts.map((f) => f.offset)).toEqual([6, 8]);
    expect(heads).toBe(0);
    // An offset it never handed out is checked against the head.
    expect(await kind(r.fetch("erp", "orders", 2, 0, undefined, 17))).toBe("precondition_failed");
    expect(heads).toBe(1);
  });

  it("confirms an offset it handed out with one cursor write, no read and no look at the head", async () => {
    let heads = 0;
    let gets = 0;
    const cursors = new InMemoryCursorStore();
    const get = cursors.get.bind(cursors);
    cursors.get = (name: string) => {
      gets += 1;
      return get(name);
    };
    const r = new ConsumerReads({
      consumers,
      log: {
        read: log.read,
        readRecords: log.readRecords,
        head: (c) => {
          heads += 1;
          return log.head(c);
        },
      },
      cursors,
      observer: { fetched() {}, confirmed() {} },
      defaultLimit: 3,
      maxLimit: 5,
      maxWaitMs: 1000,
    });
    await r.fetch("erp", "orders", 2, 0);
    const before = gets;
    expect(await r.confirm("erp", "orders", 4)).toBe(4);
    expect(await r.confirm("erp", "orders", 2)).toBe(4);
    expect([gets - before, heads]).toEqual([0, 0]);
    // Beyond what it handed out: the cursor and the head decide.
    expect(await kind(r.confirm("erp", "orders", 17))).toBe("precondition_failed");
    expect(heads).toBe(1);
    expect(await r.confirm("erp", "orders", 12)).toBe(12);
  });

  it("hands out the same facts as stored records, with the same cursor and read-ahead rules", async () => {
    const r = reads();
    const first = await r.fetchRecords("plant-a-bsfg", "peer.plant-a.operational", 2, 0);
    expect(first.records.map((x) => x.offset)).toEqual([2, 4]);
    expect(new TextDecoder().decode(first.records[0]?.bytes)).toBe(facts[0]?.envelope.messageId);
    const ahead = await r.fetchRecords("plant-a-bsfg", "peer.plant-a.operational", 2, 0, undefined, 4);
    expect(ahead).toMatchObject({ cursor: 0 });
    expect(ahead.records.map((x) => x.offset)).toEqual([6, 8]);
    // Handed out as records, so confirmable without a look at the head, like facts.
    expect(await r.confirm("plant-a-bsfg", "peer.plant-a.operational", 8)).toBe(8);
    expect(await kind(r.fetchRecords("erp", "peer.plant-a.operational", 2, 0))).toBe("permission_denied");
  });

  it("refuses unknown consumers, strangers and impostor peers", async () => {
    const r = reads();
    expect(await kind(r.fetch("erp", "nope", 1, 0))).toBe("not_found");
    expect(await kind(r.fetch("stranger", "orders", 1, 0))).toBe("permission_denied");
    expect(await kind(r.fetch("plant-b-bsfg", "peer.plant-a.operational", 1, 0))).toBe("permission_denied");
    expect(await kind(r.fetch("plant-a-bsfg", "peer.plant-a.operational", 1, 0))).toBe("ok");
    expect(await kind(r.fetch("erp", "orders", 6, 0))).toBe("invalid_input");
    expect(await kind(r.fetch("erp", "orders", 1, 5000))).toBe("invalid_input");
  });
});
