import { beforeEach, describe, expect, it } from "vitest";
import { InMemoryStoreBuffer } from "../../../src/adapters/memory/in-memory-store-buffer.js";
import { nodeHasher } from "../../../src/adapters/node/node-hasher.js";
import { DomainError, isDomainError } from "../../../src/domain/errors.js";
import type { AppendResult } from "../../../src/domain/fact.js";
import { silentLogger } from "../../../src/ports/logger.js";
import { AppendFacts } from "../../../src/use-cases/append-facts.js";
import { appendRequest, testLimits, testPolicy } from "../../fixtures/facts.js";

let store: InMemoryStoreBuffer;
let events: string[];
let useCase: AppendFacts;

beforeEach(() => {
  store = new InMemoryStoreBuffer(["operational", "audit", "telemetry"]);
  events = [];
  useCase = new AppendFacts({
    policy: testPolicy,
    limits: testLimits,
    backPressurePercent: 80,
    store,
    hasher: nodeHasher,
    clock: { nowMs: () => 1_800_000_000_000 },
    logger: silentLogger,
    observer: {
      duplicate: (c) => events.push(`duplicate:${c}`),
      conflict: (c) => events.push(`conflict:${c}`),
      queued: () => undefined,
    },
  });
});

async function refusal(promise: Promise<unknown>): Promise<DomainError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error("expected a refusal");
}

describe("AppendFacts", () => {
  it("stores a fact with canonical JSON and a digest, stamped by the clock", async () => {
    const result = await useCase.appendOne("erp", appendRequest());
    expect(result).toEqual({ offset: 1, category: "operational", duplicate: false });
    const [stored] = store.facts("operational");
    expect(stored?.fact.objectJson).toBe('{"id":"ENT-1","total":15000}');
    expect(stored?.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(stored?.storedAtUnixMs).toBe(1_800_000_000_000);
  });

  it("answers an identical retry with the original offset and duplicate=true", async () => {
    await useCase.appendOne("erp", appendRequest({ envelope: { messageId: "a" } }));
    await useCase.appendOne("erp", appendRequest({ envelope: { messageId: "b" } }));
    // Re-stamped time and re-ordered JSON keys are still the same fact.
    const retry = await useCase.appendOne(
      "erp",
      appendRequest({
        envelope: { messageId: "a", producedAtUnixMs: 1_999 },
        fact: { objectJson: '{"id":"ENT-1","total":15000.0}' },
      }),
    );
    expect(retry).toEqual({ offset: 1, category: "operational", duplicate: true });
    expect(store.facts("operational")).toHaveLength(2);
    expect(events).toEqual(["duplicate:operational"]);
  });

  it("refuses different content under the same id with already_exists and the existing offset", async () => {
    await useCase.appendOne("erp", appendRequest());
    const error = await refusal(
      useCase.appendOne("erp", appendRequest({ fact: { objectJson: '{"total":1}' } })),
    );
    expect(error.kind).toBe("already_exists");
    expect(error.details).toMatchObject({
      existingOffset: 1,
      existingCategory: "operational",
      field: "envelope.message_id",
    });
    expect(store.facts("operational")).toHaveLength(1);
    expect(events).toEqual(["conflict:operational"]);
  });

  it("treats the same id under another category as a conflict", async () => {
    await useCase.appendOne("erp", appendRequest());
    const error = await refusal(useCase.appendOne("erp", appendRequest({ category: "audit" })));
    expect(error.kind).toBe("already_exists");
    expect(store.facts("audit")).toHaveLength(0);
  });

  it("denies by default: unknown principals and unlisted categories", async () => {
    expect((await refusal(useCase.appendOne("stranger", appendRequest()))).kind).toBe("permission_denied");
    const error = await refusal(useCase.appendOne("erp", appendRequest({ fact: { subject: "sensor:t1" } })));
    expect(error.kind).toBe("permission_denied");
    expect(error.message).toContain('may not append to category "telemetry"');
    expect(await useCase.appendOne("admin", appendRequest({ fact: { subject: "sensor:t1" } }))).toMatchObject(
      {
        category: "telemetry",
      },
    );
  });

  it("applies back-pressure at the configured fill and lets appends through below it", async () => {
    store.setFillPercent("operational", 80);
    const error = await refusal(useCase.appendOne("erp", appendRequest()));
    expect(error.kind).toBe("back_pressure");
    expect(error.message).toContain("80.0% full");
    store.setFillPercent("operational", 79.9);
    expect((await useCase.appendOne("erp", appendRequest())).duplicate).toBe(false);
  });

  it("passes substrate outages through as unavailable", async () => {
    store.setUnavailable(true);
    expect((await refusal(useCase.appendOne("erp", appendRequest()))).kind).toBe("unavailable");
  });

  it("answers a batch item by item, in order, with in-batch repeats resolved against the first", async () => {
    const results = await useCase.appendMany("erp", [
      appendRequest({ envelope: { messageId: "x1" } }),
      appendRequest({ envelope: { messageId: "bad id" } }),
      appendRequest({ envelope: { messageId: "x2" } }),
      appendRequest({ envelope: { messageId: "x1" } }),
      appendRequest({ envelope: { messageId: "x1" }, fact: { objectJson: "[]" } }),
    ]);
    const summary = results.map((r) =>
      isDomainError(r) ? r.kind : `${(r as AppendResult).offset}:${(r as AppendResult).duplicate}`,
    );
    expect(summary).toEqual(["1:false", "invalid_input", "2:false", "1:true", "already_exists"]);
    expect(store.facts("operational").map((f) => f.envelope.messageId)).toEqual(["x1", "x2"]);
  });

  it("refuses a batch over the item limit as a whole", async () => {
    const items = Array.from({ length: 101 }, (_, i) => appendRequest({ envelope: { messageId: `m${i}` } }));
    const error = await refusal(useCase.appendMany("erp", items));
    expect(error.kind).toBe("too_large");
    expect(store.facts("operational")).toHaveLength(0);
  });
});

/** AppendFacts over `store` that stores at most `maxFactsInFlight` facts at once. */
function capped(
  store: InMemoryStoreBuffer,
  maxFactsInFlight: number,
  queued: (n: number) => void = () => undefined,
) {
  return new AppendFacts({
    policy: testPolicy,
    limits: { ...testLimits, maxFactsInFlight },
    backPressurePercent: 80,
    store,
    hasher: nodeHasher,
    clock: { nowMs: () => 1_800_000_000_000 },
    logger: silentLogger,
    observer: { duplicate: () => undefined, conflict: () => undefined, queued },
  });
}

describe("AppendFacts under many concurrent batches", () => {
  it("stores at most limits.maxFactsInFlight facts at once, and every batch completes", async () => {
    let inStore = 0;
    let peak = 0;
    const queued: number[] = [];
    const slowStore = new InMemoryStoreBuffer(["operational", "audit", "telemetry"]);
    const append = slowStore.append.bind(slowStore);
    slowStore.append = async (records) => {
      inStore += records.length;
      peak = Math.max(peak, inStore);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inStore -= records.length;
      return append(records);
    };
    const useCase120 = capped(slowStore, 120, (n) => queued.push(n));
    const batches = Array.from({ length: 12 }, (_, b) =>
      useCase120.appendMany(
        "erp",
        Array.from({ length: 50 }, (_, i) => appendRequest({ envelope: { messageId: `b${b}-${i}` } })),
      ),
    );
    const results = (await Promise.all(batches)).flat();
    expect(results).toHaveLength(600);
    expect(results.every((r) => !isDomainError(r) && !r.duplicate)).toBe(true);
    // Two batches of 50 fit under 120, a third does not.
    expect(peak).toBe(100);
    // The waiting facts are reported as they change: ten batches queue behind the first two.
    expect(Math.max(...queued)).toBe(500);
    expect(queued.at(-1)).toBe(0);
    expect(slowStore.facts("operational")).toHaveLength(600);
  });

  it("drops a batch whose client went away while it waited, storing none of it", async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slowStore = new InMemoryStoreBuffer(["operational", "audit", "telemetry"]);
    const append = slowStore.append.bind(slowStore);
    slowStore.append = async (records) => {
      await gate;
      return append(records);
    };
    const useCase10 = capped(slowStore, 10);
    const batch = (prefix: string, n: number) =>
      Array.from({ length: n }, (_, i) => appendRequest({ envelope: { messageId: `${prefix}-${i}` } }));
    const first = useCase10.appendMany("erp", batch("first", 10));
    const client = new AbortController();
    const abandoned = useCase10.appendMany("erp", batch("gone", 5), client.signal);
    const next = useCase10.appendMany("erp", batch("next", 5));
    client.abort();
    await expect(abandoned).rejects.toMatchObject({ kind: "cancelled" });
    release();
    expect((await first).every((r) => !isDomainError(r))).toBe(true);
    expect((await next).every((r) => !isDomainError(r))).toBe(true);
    const ids = slowStore.facts("operational").map((f) => f.envelope.messageId);
    expect(ids).toHaveLength(15);
    expect(ids.some((id) => id.startsWith("gone-"))).toBe(false);
  });
});
