import { describe, expect, it } from "vitest";
import type { Backlog } from "../../../src/adapters/jetstream/backlog-probe.js";
import {
  CHEAP_COUNT_FACTS,
  MAX_COUNT_SPACING_MS,
  SharedStreamBacklog,
  spacingMs,
} from "../../../src/adapters/jetstream/shared-stream-backlog.js";
import { peerConsumer } from "../../fixtures/consumers.js";

const consumer = peerConsumer("plant-a", "operational");

/** A shared stream: `wholeFacts` after the cursor for every peer, `ownFacts` of them this peer's. */
function harness(start: { wholeFacts: number; ownFacts: number }) {
  const state = { ...start, now: 1_000_000, counts: 0, holes: false };
  const probe = new SharedStreamBacklog({
    whole: async (_c, cursor): Promise<Backlog | undefined> =>
      state.holes
        ? undefined
        : {
            facts: state.wholeFacts,
            oldestStoredAtMs: state.wholeFacts === 0 ? undefined : 500 + cursor,
            oldestOffset: state.wholeFacts === 0 ? undefined : cursor + 1,
          },
    count: async (_c, cursor) => {
      state.counts++;
      return { facts: state.ownFacts, oldestStoredAtMs: 700 + cursor, oldestOffset: cursor + 3 };
    },
    now: () => state.now,
    intervalMs: 5000,
  });
  return { state, probe };
}

describe("SharedStreamBacklog", () => {
  it("counts exactly every round while the stream after the cursor is cheap to walk", async () => {
    const { state, probe } = harness({ wholeFacts: CHEAP_COUNT_FACTS, ownFacts: 10 });
    for (let i = 0; i < 3; i++) {
      expect((await probe.probe(consumer, 0)).facts).toBe(10);
      state.now += 5000;
    }
    expect(state.counts).toBe(3);
  });

  it("spaces exact counts out in proportion to a large backlog, reporting the last count in between", async () => {
    const whole = CHEAP_COUNT_FACTS * 4;
    const { state, probe } = harness({ wholeFacts: whole, ownFacts: 90_000 });
    expect(await probe.probe(consumer, 100)).toEqual({
      facts: 90_000,
      oldestStoredAtMs: 800,
      oldestOffset: 103,
    });
    state.ownFacts = 95_000;
    // 4 × the cheap size: 4 × the 5 s interval between counts.
    for (const elapsed of [5000, 10_000, 15_000]) {
      state.now = 1_000_000 + elapsed;
      // The cursor has not passed the oldest fact counted: its age is still exact.
      expect(await probe.probe(consumer, 102)).toEqual({
        facts: 90_000,
        oldestStoredAtMs: 800,
        oldestOffset: 103,
      });
    }
    expect(state.counts).toBe(1);
    state.now = 1_000_000 + 20_000;
    expect((await probe.probe(consumer, 102)).facts).toBe(95_000);
    expect(state.counts).toBe(2);
  });

  it("between counts never reports more than the whole stream holds, nor a younger oldest fact than it", async () => {
    const { state, probe } = harness({ wholeFacts: CHEAP_COUNT_FACTS * 10, ownFacts: 400_000 });
    await probe.probe(consumer, 0);
    state.wholeFacts = CHEAP_COUNT_FACTS * 6;
    state.now += 5000;
    // The drain moved the cursor past the oldest fact counted (offset 3).
    expect(await probe.probe(consumer, 200_000)).toEqual({
      facts: CHEAP_COUNT_FACTS * 6,
      oldestStoredAtMs: 200_500,
      oldestOffset: 200_001,
    });
    expect(state.counts).toBe(1);
  });

  it("counts at once when the stream is empty after the cursor, or has a hole there", async () => {
    const { state, probe } = harness({ wholeFacts: CHEAP_COUNT_FACTS * 10, ownFacts: 7 });
    await probe.probe(consumer, 0);
    state.wholeFacts = 0;
    expect((await probe.probe(consumer, 9)).facts).toBe(0);
    state.wholeFacts = CHEAP_COUNT_FACTS * 10;
    state.now += 1000;
    // The empty stream forgot the last count: a new backlog is counted at once.
    await probe.probe(consumer, 9);
    expect(state.counts).toBe(2);
    state.holes = true;
    state.now += 1000;
    await probe.probe(consumer, 9);
    expect(state.counts).toBe(3);
  });

  it("spaces counts by the backlog's size, capped", () => {
    expect(spacingMs(CHEAP_COUNT_FACTS, 5000)).toBe(0);
    expect(spacingMs(CHEAP_COUNT_FACTS * 2, 5000)).toBe(10_000);
    expect(spacingMs(CHEAP_COUNT_FACTS * 1000, 5000)).toBe(MAX_COUNT_SPACING_MS);
  });
});
