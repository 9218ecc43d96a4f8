import { describe, expect, it } from "vitest";
import { InMemoryForwardBuffer } from "../../../src/adapters/memory/in-memory-forward-buffer.js";
import { DomainError } from "../../../src/domain/errors.js";
import type { StoredFact } from "../../../src/domain/fact.js";
import type { GateState } from "../../../src/domain/gate.js";
import { backoffDelayMs, nextGateState } from "../../../src/domain/gate.js";
import { silentLogger } from "../../../src/ports/logger.js";
import type { PeerLink } from "../../../src/ports/peer-link.js";
import { PeerGate } from "../../../src/use-cases/peer-gate.js";
import {
  CONFIRM_SPACING_MS,
  ReceiverLoop,
  type ReceiverLoopOptions,
} from "../../../src/use-cases/receiver-loop.js";
import { record } from "../../fixtures/facts.js";

/** A peer serving `count` facts with a server-side cursor, like FetchFacts/ConfirmReceipt. */
class FakePeer implements PeerLink {
  cursor = 0;
  failures = 0;
  readonly confirms: number[] = [];
  readonly facts: StoredFact[];
  onFetch: () => void = () => {};

  constructor(count: number) {
    this.facts = Array.from({ length: count }, (_, i) => ({ ...record(), offset: i + 1 }));
  }

  /** Every fetch and confirm in call order: "fetch:<after>" / "confirm:<offset>". */
  readonly calls: string[] = [];

  /** The signal of every fetch, in call order. */
  readonly signals: AbortSignal[] = [];
  /** At each fetch: which earlier fetches' signals were already aborted. */
  readonly abortedBefore: boolean[][] = [];

  async fetch(_consumer: string, limit: number, _wait: number, signal: AbortSignal, after?: number) {
    this.calls.push(`fetch:${after ?? "cursor"}`);
    this.abortedBefore.push(this.signals.map((s) => s.aborted));
    this.signals.push(signal);
    this.onFetch();
    if (this.failures > 0) {
      this.failures--;
      throw new DomainError("unavailable", "peer unreachable");
    }
    const from = Math.max(this.cursor, after ?? this.cursor);
    const facts = this.facts.filter((f) => f.offset > from).slice(0, limit);
    // Nothing to hand out: a real peer parks the long-poll, so the loop waits too.
    if (facts.length === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    return { facts, cursor: this.cursor };
  }

  async confirm(_consumer: string, offset: number) {
    this.calls.push(`confirm:${offset}`);
    this.confirms.push(offset);
    this.cursor = Math.max(this.cursor, offset);
    return this.cursor;
  }

  // These facts reference no artifacts, so the loop never asks for one.
  getObject(): AsyncIterable<Uint8Array> {
    throw new Error("no artifacts in this test");
  }
}

function harness(
  peer: FakePeer,
  forward = new InMemoryForwardBuffer(),
  time: Pick<ReceiverLoopOptions, "clock" | "timer"> = {
    clock: { nowMs: () => 0 },
    timer: { sleep: async () => {}, random: () => 0.5 },
  },
) {
  const gates: GateState[] = [];
  const abort = new AbortController();
  const observer = { gate: (_p: string, s: GateState) => gates.push(s), progress: () => {} };
  const loop = new ReceiverLoop({
    peer: "enterprise",
    category: "operational",
    consumer: "peer.plant-a.operational",
    link: peer,
    forward,
    gate: new PeerGate("enterprise", silentLogger, observer),
    batch: 10,
    waitMs: 0,
    backoffBaseMs: 1,
    backoffCapMs: 2,
    ...time,
    logger: silentLogger,
    observer,
  });
  return { loop, forward, gates, abort };
}

async function runUntil(h: ReturnType<typeof harness>, peer: FakePeer, done: () => boolean) {
  peer.onFetch = () => {
    if (done()) h.abort.abort();
  };
  await h.loop.run(h.abort.signal);
}

describe("ReceiverLoop", () => {
  it("imports every fact once, in order, in batches, confirming after each durable batch", async () => {
    const peer = new FakePeer(35);
    const h = harness(peer);
    await runUntil(h, peer, () => peer.cursor === 35);
    expect(h.forward.facts("operational").map((f) => f.sourceOffset)).toEqual(
      peer.facts.map((f) => f.offset),
    );
    expect(peer.confirms).toEqual([10, 20, 30, 35]);
  });

  it("skips facts already materialised before a crash between insert and confirm", async () => {
    const peer = new FakePeer(12);
    const forward = new InMemoryForwardBuffer();
    await forward.append("enterprise", "operational", peer.facts.slice(0, 7));
    const h = harness(peer, forward);
    await runUntil(h, peer, () => peer.cursor === 12);
    expect(forward.facts("operational").map((f) => f.sourceOffset)).toEqual(peer.facts.map((f) => f.offset));
  });

  it("closes the gate while the peer fails, reconciles a backlog, then opens", async () => {
    const peer = new FakePeer(25);
    peer.failures = 3;
    const h = harness(peer);
    await runUntil(h, peer, () => peer.cursor === 25);
    expect(h.gates).toEqual(["closed", "reconciling", "open"]);
  });

  it("retries a batch whose local insert failed without closing the gate or confirming it", async () => {
    const peer = new FakePeer(5);
    const h = harness(peer);
    h.forward.failNext(2);
    await runUntil(h, peer, () => peer.cursor === 5);
    expect(h.forward.facts("operational")).toHaveLength(5);
    expect(peer.confirms).toEqual([5]);
    expect(h.gates).toEqual(["closed", "open"]);
  });
});

describe("ReceiverLoop pipelining", () => {
  it("asks for the batch after a full one before storing and confirming it, and confirms only stored batches", async () => {
    const peer = new FakePeer(25);
    const forward = new InMemoryForwardBuffer();
    const stored: number[] = [];
    const slow = {
      highWaterMark: (p: string, c: string) => forward.highWaterMark(p, c),
      append: async (p: string, c: string, facts: readonly StoredFact[]) => {
        peer.calls.push(`stored-from:${facts[0]?.offset}`);
        await new Promise((resolve) => setTimeout(resolve, 5));
        await forward.append(p, c, facts);
        stored.push((facts.at(-1) as StoredFact).offset);
      },
    };
    const h = harness(peer, slow as unknown as InMemoryForwardBuffer);
    await runUntil(h, peer, () => peer.cursor === 25);
    expect(peer.calls.slice(0, 7)).toEqual([
      "fetch:cursor",
      "fetch:10", // read ahead while 1–10 is being stored
      "stored-from:1",
      "confirm:10",
      "fetch:20",
      "stored-from:11",
      "confirm:20",
    ]);
    // A batch is confirmed only once its insert is durable.
    for (const c of peer.confirms) expect(stored.some((s) => s >= c)).toBe(true);
    expect(forward.facts("operational").map((f) => f.sourceOffset)).toEqual(peer.facts.map((f) => f.offset));
  });

  it("lets a confirm travel while the next batch is stored, one confirm in flight at most", async () => {
    const peer = new FakePeer(40);
    let inFlight = 0;
    let maxInFlight = 0;
    const confirmOriginal = peer.confirm.bind(peer);
    peer.confirm = async (consumer: string, offset: number) => {
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight--;
      peer.calls.push(`confirmed:${offset}`);
      return confirmOriginal(consumer, offset);
    };
    const forward = new InMemoryForwardBuffer();
    const tracking = {
      highWaterMark: (p: string, c: string) => forward.highWaterMark(p, c),
      append: async (p: string, c: string, facts: readonly StoredFact[]) => {
        peer.calls.push(`stored-from:${facts[0]?.offset}`);
        await forward.append(p, c, facts);
      },
    };
    const h = harness(peer, tracking as unknown as InMemoryForwardBuffer);
    await runUntil(h, peer, () => peer.cursor === 40);
    // Batch 11–20 is stored before the confirm of 1–10 has come back.
    expect(peer.calls.indexOf("stored-from:11")).toBeLessThan(peer.calls.indexOf("confirmed:10"));
    expect(maxInFlight).toBe(1);
    expect(forward.facts("operational").map((f) => f.sourceOffset)).toEqual(peer.facts.map((f) => f.offset));
  });

  it("folds the confirms of batches stored while one travels into one for the newest, and confirms the last at shutdown", async () => {
    const peer = new FakePeer(80);
    let inFlight = 0;
    let maxInFlight = 0;
    const confirmOriginal = peer.confirm.bind(peer);
    peer.confirm = async (consumer: string, offset: number) => {
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      // Slower than storing a batch: several are stored during one confirm.
      await new Promise((resolve) => setTimeout(resolve, 15));
      inFlight--;
      return confirmOriginal(consumer, offset);
    };
    const forward = new InMemoryForwardBuffer();
    const stored: number[] = [];
    const tracking = {
      highWaterMark: (p: string, c: string) => forward.highWaterMark(p, c),
      append: async (p: string, c: string, facts: readonly StoredFact[]) => {
        await new Promise((resolve) => setTimeout(resolve, 2));
        await forward.append(p, c, facts);
        stored.push((facts.at(-1) as StoredFact).offset);
      },
    };
    const h = harness(peer, tracking as unknown as InMemoryForwardBuffer);
    // Stop as soon as everything is stored, before the confirms have caught up.
    await runUntil(h, peer, () => stored.at(-1) === 80);
    expect(maxInFlight).toBe(1);
    expect(peer.confirms.length).toBeLessThan(stored.length);
    expect(peer.confirms).toEqual([...peer.confirms].sort((a, b) => a - b));
    for (const c of peer.confirms) expect(stored).toContain(c);
    expect(peer.confirms.at(-1)).toBe(80);
    expect(peer.cursor).toBe(80);
  });

  it("spaces confirms CONFIRM_SPACING_MS apart, each for the newest stored offset, the first and the last at once", async () => {
    const peer = new FakePeer(95);
    // A clock that only the loop's waits move: storing and fetching take no time.
    let now = 1_000;
    const waits: number[] = [];
    const sentAt: Array<[number, number]> = [];
    const confirmOriginal = peer.confirm.bind(peer);
    peer.confirm = async (consumer: string, offset: number) => {
      sentAt.push([now, offset]);
      return confirmOriginal(consumer, offset);
    };
    const h = harness(peer, new InMemoryForwardBuffer(), {
      clock: { nowMs: () => now },
      timer: {
        sleep: async (ms: number) => {
          waits.push(ms);
          now += ms;
        },
        random: () => 0.5,
      },
    });
    await runUntil(h, peer, () => peer.cursor === 95);
    expect(sentAt[0]).toEqual([1_000, 10]);
    for (let i = 1; i < sentAt.length; i++) {
      const [at, offset] = sentAt[i] as [number, number];
      const [before, previous] = sentAt[i - 1] as [number, number];
      expect(at - before).toBeGreaterThanOrEqual(CONFIRM_SPACING_MS);
      expect(offset).toBeGreaterThan(previous);
    }
    expect(waits.length).toBeGreaterThan(0);
    expect(waits.every((ms) => ms > 0 && ms <= CONFIRM_SPACING_MS)).toBe(true);
    expect(sentAt.at(-1)?.[1]).toBe(95);
  });

  it("reports a failed confirm at the next batch, starts over from the peer's cursor, and loses or doubles nothing", async () => {
    const peer = new FakePeer(30);
    let failOnce = true;
    const confirmOriginal = peer.confirm.bind(peer);
    peer.confirm = async (consumer: string, offset: number) => {
      if (failOnce) {
        failOnce = false;
        throw new DomainError("unavailable", "peer went away mid-confirm");
      }
      return confirmOriginal(consumer, offset);
    };
    const h = harness(peer);
    await runUntil(h, peer, () => peer.cursor === 30);
    expect(h.gates).toContain("closed");
    expect(h.forward.facts("operational").map((f) => f.sourceOffset)).toEqual(
      peer.facts.map((f) => f.offset),
    );
  });

  it("drops the read-ahead batch when an insert fails and re-reads from the cursor: nothing lost or doubled", async () => {
    const peer = new FakePeer(45);
    const h = harness(peer);
    h.forward.failNext(1);
    await runUntil(h, peer, () => peer.cursor === 45);
    expect(h.forward.facts("operational").map((f) => f.sourceOffset)).toEqual(
      peer.facts.map((f) => f.offset),
    );
    // After the failure the loop started over from the durable cursor, not from the read-ahead,
    // and ended the read-ahead's request (a long-poll there would hold the peer's consumer).
    const failedAt = peer.calls.indexOf("fetch:10");
    expect(peer.calls[failedAt + 1]).toBe("fetch:cursor");
    expect(peer.abortedBefore[failedAt + 1]).toEqual([false, true]);
  });

  it("a failed read-ahead closes the gate and resumes from the cursor without an unhandled rejection", async () => {
    const peer = new FakePeer(30);
    let fetches = 0;
    const original = peer.fetch.bind(peer);
    peer.fetch = async (...args: Parameters<FakePeer["fetch"]>) => {
      if (++fetches === 2) throw new DomainError("unavailable", "link reset during read-ahead");
      return original(...args);
    };
    const h = harness(peer);
    await runUntil(h, peer, () => peer.cursor === 30);
    expect(h.forward.facts("operational").map((f) => f.sourceOffset)).toEqual(
      peer.facts.map((f) => f.offset),
    );
    expect(h.gates[0]).toBe("closed");
  });
});

describe("gate and backoff", () => {
  it("moves between states on exchange outcomes", () => {
    expect(nextGateState("open", "exchange_failed")).toBe("closed");
    expect(nextGateState("closed", "exchange_behind")).toBe("reconciling");
    expect(nextGateState("open", "exchange_behind")).toBe("open");
    expect(nextGateState("reconciling", "exchange_caught_up")).toBe("open");
  });

  it("grows exponentially with jitter and stays under the cap", () => {
    expect(backoffDelayMs(0, 100, 5000, 1)).toBe(100);
    expect(backoffDelayMs(3, 100, 5000, 1)).toBe(800);
    expect(backoffDelayMs(3, 100, 5000, 0)).toBe(400);
    expect(backoffDelayMs(50, 100, 5000, 1)).toBe(5000);
  });
});
