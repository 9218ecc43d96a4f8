import { describe, expect, it } from "vitest";
import { isDomainError } from "../../src/domain/errors.js";
import type { StoreBuffer, StoreOutcome } from "../../src/ports/store-buffer.js";
import { record } from "../fixtures/facts.js";

/**
 * What every StoreBuffer must do, run against the in-memory fake (unit) and
 * the JetStream adapter on a real nats-server (integration). Needs index-mode
 * categories "operational" and "audit".
 */
export function storeBufferContract(name: string, makeStore: () => StoreBuffer): void {
  const ok = (o: StoreOutcome | Error | undefined): StoreOutcome => {
    if (o === undefined || isDomainError(o) || o instanceof Error)
      throw new Error(`expected an outcome, got ${String(o)}`);
    return o;
  };

  describe(`StoreBuffer contract: ${name}`, () => {
    it("stores new records with increasing offsets in input order", async () => {
      const store = makeStore();
      const outcomes = (await store.append([record(), record(), record()])).map(ok);
      expect(outcomes.map((o) => o.kind)).toEqual(["stored", "stored", "stored"]);
      const offsets = outcomes.map((o) => o.offset);
      expect(offsets[0]).toBeGreaterThan(0);
      expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
      expect(new Set(offsets).size).toBe(3);
    });

    it("answers a repeated message_id with the original offset and digest, writing nothing", async () => {
      const store = makeStore();
      const first = record();
      const [stored] = (await store.append([first])).map(ok);
      const [again] = (await store.append([{ ...first, digest: "sha256:other", storedAtUnixMs: 1 }])).map(ok);
      expect(again).toEqual({
        kind: "existing",
        offset: stored?.offset,
        category: "operational",
        digest: first.digest,
      });
      const [next] = (await store.append([record()])).map(ok);
      expect(next?.offset).toBe((stored?.offset ?? 0) + 1);
    });

    it("treats the id space as zone-wide: the same id in another category is the existing fact", async () => {
      const store = makeStore();
      const first = record({ category: "audit" });
      const [stored] = (await store.append([first])).map(ok);
      const [other] = (await store.append([{ ...first, category: "operational", digest: "sha256:x" }])).map(
        ok,
      );
      expect(other).toEqual({
        kind: "existing",
        offset: stored?.offset,
        category: "audit",
        digest: first.digest,
      });
    });

    it("stores exactly one of many concurrent appends of the same message_id", async () => {
      const store = makeStore();
      const base = record();
      const outcomes = (await Promise.all(Array.from({ length: 20 }, () => store.append([base])))).map((r) =>
        ok(r[0]),
      );
      expect(outcomes.filter((o) => o.kind === "stored")).toHaveLength(1);
      const offsets = new Set(outcomes.map((o) => o.offset));
      expect(offsets.size).toBe(1);
    });

    it("keeps a large batch in order", async () => {
      const store = makeStore();
      const outcomes = (await store.append(Array.from({ length: 200 }, () => record()))).map(ok);
      const offsets = outcomes.map((o) => o.offset);
      for (let i = 1; i < offsets.length; i++) expect(offsets[i]).toBe((offsets[i - 1] as number) + 1);
    });
  });
}
