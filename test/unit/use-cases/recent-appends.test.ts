import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InMemoryStoreBuffer } from "../../../src/adapters/memory/in-memory-store-buffer.js";
import { DomainError } from "../../../src/domain/errors.js";
import type { FactRecord } from "../../../src/domain/fact.js";
import type { StoreOutcome } from "../../../src/ports/store-buffer.js";
import { RecentAppends } from "../../../src/use-cases/recent-appends.js";
import { record } from "../../fixtures/facts.js";

function harness(capacity = 100) {
  const inner = new InMemoryStoreBuffer(["operational", "telemetry"]);
  const seen: string[][] = [];
  const append = inner.append.bind(inner);
  inner.append = (records) => {
    seen.push(records.map((r) => r.envelope.messageId));
    return append(records);
  };
  const clock = { now: 1_000 };
  const recent = new RecentAppends(inner, {
    remembers: (category) => category === "operational",
    clock: { nowMs: () => clock.now },
    ttlMs: 60_000,
    capacity,
  });
  return { inner, seen, clock, recent };
}

const same = (r: FactRecord): FactRecord => ({ ...r });

describe("RecentAppends", () => {
  it("answers a retry of a recent append from memory, with the stored offset and digest", async () => {
    const { seen, recent } = harness();
    const first = record({ messageId: "a" });
    const [stored] = await recent.append([first, record({ messageId: "b" })]);
    expect(stored).toEqual({ kind: "stored", offset: 1 });
    const [retry] = await recent.append([same(first)]);
    expect(retry).toEqual({ kind: "existing", offset: 1, category: "operational", digest: first.digest });
    // A conflicting retry carries the stored digest, so the use case refuses it as before.
    const [conflict] = await recent.append([{ ...first, digest: "sha256:other" }]);
    expect((conflict as StoreOutcome & { digest: string }).digest).toBe(first.digest);
    expect(seen).toEqual([["a", "b"]]);
  });

  it("asks the store for everything it does not remember, in input order", async () => {
    const { seen, recent } = harness();
    const a = record({ messageId: "a" });
    await recent.append([a]);
    const outcomes = await recent.append([record({ messageId: "x" }), same(a), record({ messageId: "y" })]);
    expect(outcomes.map((o) => (o as StoreOutcome).offset)).toEqual([2, 1, 3]);
    expect(seen.at(-1)).toEqual(["x", "y"]);
  });

  it("forgets after the time to live and beyond the capacity", async () => {
    const { seen, clock, recent } = harness(2);
    const [a, b, c] = ["a", "b", "c"].map((messageId) => record({ messageId })) as [
      FactRecord,
      FactRecord,
      FactRecord,
    ];
    await recent.append([a]);
    clock.now += 60_001;
    await recent.append([same(a)]);
    expect(seen).toEqual([["a"], ["a"]]);
    await recent.append([b, c]);
    // a was the oldest of three: evicted.
    await recent.append([same(a), same(b), same(c)]);
    expect(seen.at(-1)).toEqual(["a"]);
  });

  it("remembers only index-mode categories and only what the store acknowledged", async () => {
    const { inner, seen, recent } = harness();
    const t = record({ messageId: "t", category: "telemetry" });
    await recent.append([t]);
    await recent.append([same(t)]);
    expect(seen).toEqual([["t"], ["t"]]);
    inner.setUnavailable(true);
    const [failed] = await recent.append([record({ messageId: "u" })]);
    expect(failed).toBeInstanceOf(DomainError);
    inner.setUnavailable(false);
    await recent.append([record({ messageId: "u" })]);
    expect(seen.at(-1)).toEqual(["u"]);
  });

  it("keeps an id remembered again after it expired, whatever its earlier turn in the capacity", async () => {
    const { seen, clock, recent } = harness(2);
    const a = record({ messageId: "a" });
    await recent.append([a]);
    clock.now += 60_001;
    await recent.append([same(a)]);
    // b takes the place a had before it expired; a's new place is still the newest but one.
    await recent.append([record({ messageId: "b" })]);
    await recent.append([same(a)]);
    expect(seen).toEqual([["a"], ["a"], ["b"]]);
  });

  it("answers from memory exactly the ids among the last `capacity` remembered, within the time to live", async () => {
    const capacity = 3;
    const ttlMs = 60_000;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ id: fc.constantFrom("a", "b", "c", "d", "e"), waitMs: fc.nat(40_000) }), {
          maxLength: 60,
        }),
        async (steps) => {
          const { seen, clock, recent } = harness(capacity);
          // The model: every id sent to the store, in order, with when.
          const remembered: Array<{ id: string; atMs: number }> = [];
          for (const [i, step] of steps.entries()) {
            clock.now += step.waitMs;
            const lastTurn = remembered.findLastIndex((r) => r.id === step.id);
            const recalled =
              lastTurn >= remembered.length - capacity &&
              lastTurn >= 0 &&
              clock.now - (remembered[lastTurn] as { atMs: number }).atMs <= ttlMs;
            const before = seen.length;
            await recent.append([record({ messageId: step.id, digest: `sha256:${step.id}` })]);
            expect(seen.length - before, `step ${i} (${step.id})`).toBe(recalled ? 0 : 1);
            if (!recalled) remembered.push({ id: step.id, atMs: clock.now });
          }
        },
      ),
    );
  });
});
