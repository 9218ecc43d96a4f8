import { describe, expect, it } from "vitest";
import { runTorture, summarize } from "../../torture/torture.js";

// The CI-sized cluster variant of the fault-injection campaign (issue 7):
// plant-a runs a 3-node JetStream cluster with every stream and bucket at
// replicas 3, and one server of it at a time is killed -9 and restarted with
// its store kept, next to node kills, a node restart while an artifact
// crosses into the cluster zone or out of it, consumer crashes and a
// partition. Every end-of-run check reads JetStream through any server of
// the cluster. `npm run torture -- --cluster --faults N --seed S` runs longer ones.

describe("torture campaign on a 3-node JetStream cluster (seeded, CI-sized)", () => {
  it("seed 31, 8 faults: zero violations with servers of the cluster killed one at a time", async () => {
    const report = await runTorture({
      faults: 8,
      seed: 31,
      cluster: true,
      artifactMaxMiB: 8,
      faultTypes: ["cluster-server-kill", "artifact-restart", "node-kill", "consumer-crash", "partition"],
    });
    // The summary carries every violation with its message ids when this fails.
    expect(report.violations, summarize(report)).toEqual([]);
    expect(report.cluster?.servers).toEqual(["plant-a-nats-1", "plant-a-nats-2", "plant-a-nats-3"]);
    expect(report.faultsInjected["cluster-server-kill"]).toBeGreaterThanOrEqual(2);
    expect(report.checked.appendsAcknowledged).toBeGreaterThan(100);
    expect(report.checked.factsInForwardBuffers["plant-a/forward_operational"]).toBeGreaterThan(0);
    expect(report.checked.artifactsVerified).toBe(1);
  }, 240_000);
});
