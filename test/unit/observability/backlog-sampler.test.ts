import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { ConsumerSpec } from "../../../src/domain/consumer-policy.js";
import { BacklogSampler } from "../../../src/observability/backlog-sampler.js";
import { silentLogger } from "../../../src/ports/logger.js";

const consumer = { name: "peer.plant-a.operational", kind: "peer" } as unknown as ConsumerSpec;

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

function sampler(probeMs: number) {
  let clock = 0;
  const probes: number[] = [];
  const s = new BacklogSampler({
    consumers: new Map([[consumer.name, consumer]]),
    cursor: async () => 0,
    probe: async () => {
      probes.push(clock);
      // The probe's own duration, as the sampler's clock sees it.
      clock += probeMs;
      return { facts: 1, oldestStoredAtMs: 0, oldestOffset: 1 };
    },
    record: () => undefined,
    now: () => clock,
    intervalMs: 5000,
    logger: silentLogger,
  });
  return { s, probes, advance: (ms: number) => vi.advanceTimersByTimeAsync(ms) };
}

describe("BacklogSampler", () => {
  it("samples every consumer once per interval", async () => {
    const { s, probes, advance } = sampler(10);
    s.start();
    await advance(15_000);
    s.stop();
    expect(probes).toHaveLength(4);
  });
});
