import { describe, expect, it } from "vitest";
import { InMemoryForwardBuffer } from "../../../src/adapters/memory/in-memory-forward-buffer.js";
import { DomainError } from "../../../src/domain/errors.js";
import type { StoredFact } from "../../../src/domain/fact.js";
import type { GateState } from "../../../src/domain/gate.js";
import { backoffDelayMs, nextGateState } from "../../../src/domain/gate.js";
import { silentLogger } from "../../../src/ports/logger.js";
import type { PeerLink } from "../../../src/ports/peer-link.js";
import { PeerGate } from "../../../src/use-cases/peer-gate.js";
import { ReceiverLoop } from "../../../src/use-cases/receiver-loop.js";
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

  async fetch(_consumer: string, limit: number) {
    this.onFetch();
    if (this.failures > 0) {
      this.failures--;
      throw new DomainError("unavailable", "peer unreachable");
    }
    return { facts: this.facts.filter((f) => f.offset > this.cursor).slice(0, limit), cursor: this.cursor };
  }

  async confirm(_consumer: string, offset: number) {
    this.confirms.push(offset);
    this.cursor = Math.max(this.cursor, offset);
    return this.cursor;
  }

  // These facts reference no artifacts, so the loop never asks for one.
  getObject(): AsyncIterable<Uint8Array> {
    throw new Error("no artifacts in this test");
  }
}

function harness(peer: FakePeer, forward = new InMemoryForwardBuffer()) {
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
    clock: { nowMs: () => 0 },
    timer: { sleep: async () => {}, random: () => 0.5 },
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
