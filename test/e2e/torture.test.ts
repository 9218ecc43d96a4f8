import { describe, expect, it } from "vitest";
import { runTorture, summarize } from "../../torture/torture.js";

// The CI-sized fault-injection campaign (issue 7): two zones as real processes,
// producers and consumers both ways, one fault of every type (kill -9 of a
// node, kill -9 of a nats-server, partition, slow link, lossy link, consumer
// crash between fetch and confirm, node restart while an artifact crosses,
// certificate rotation), then every invariant checked against JetStream.
// `npm run torture -- --faults N --seed S` runs longer campaigns.

describe("torture campaign (seeded, CI-sized)", () => {
  it("seed 7, 8 faults: zero loss, zero duplicates, order kept, consumers and metrics agree", async () => {
    const report = await runTorture({ faults: 8, seed: 7, artifactMaxMiB: 12 });
    // The summary carries every violation with its message ids when this fails.
    expect(report.violations, summarize(report)).toEqual([]);
    expect(Object.keys(report.faultsInjected).sort()).toEqual(
      [
        "artifact-restart",
        "cert-rotation",
        "consumer-crash",
        "lossy-link",
        "nats-kill",
        "node-kill",
        "partition",
        "slow-link",
      ].sort(),
    );
    expect(report.checked.appendsAcknowledged).toBeGreaterThan(100);
    expect(report.checked.conflictingRetriesRejected).toBeGreaterThan(0);
    expect(report.checked.identicalRetries).toBeGreaterThan(0);
    expect(report.checked.artifactsVerified).toBe(1);
  }, 240_000);
});
