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
});
