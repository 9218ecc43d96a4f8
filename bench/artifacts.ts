/**
 * Artifact throughput on one machine: PutObject and GetObject over mTLS
 * HTTP/2 into/out of a zone node, and the cross-zone copy of a referenced
 * artifact by the receiver loop. Run: npm run bench -- artifacts [MiB]
 */
import { randomBytes } from "node:crypto";
import type { PutObjectRequest } from "../src/gen/bsfg/v1/boundary_pb.js";
import { startMesh } from "../test/fixtures/mesh.js";
import { clientFor, eventually } from "../test/fixtures/test-node.js";

export async function measureArtifacts(
  mib: number,
): Promise<Array<{ phase: string; mib: number; seconds: number; mibPerSecond: number }>> {
  const mesh = await startMesh(["enterprise", "plant-a"], () => ({ log_level: "warn" }));
  const enterprise = mesh.zones.enterprise;
  const plant = mesh.zones["plant-a"];
  if (enterprise === undefined || plant === undefined) throw new Error("mesh did not start");
  const client = clientFor(enterprise.node.url, mesh.ca, enterprise.app);
  const plantClient = clientFor(plant.node.url, mesh.ca, plant.app);
  const block = randomBytes(1024 * 1024);
  const size = mib * 1024 * 1024;
  const rows: Array<{ phase: string; mib: number; seconds: number; mibPerSecond: number }> = [];
  const row = (phase: string, started: number) => {
    const seconds = (performance.now() - started) / 1000;
    rows.push({
      phase,
      mib,
      seconds: Math.round(seconds * 100) / 100,
      mibPerSecond: Math.round(mib / seconds),
    });
  };
  try {
    let started = performance.now();
    const put = await client.putObject(
      (async function* () {
        yield {
          part: {
            case: "header",
            value: { bucket: "artifacts", key: "bench.bin", mediaType: "application/octet-stream" },
          },
        } as PutObjectRequest;
        for (let sent = 0; sent < size; sent += block.length)
          yield { part: { case: "chunk", value: block } } as unknown as PutObjectRequest;
      })(),
    );
    row("PutObject (client → node → JetStream)", started);

    started = performance.now();
    let received = 0;
    for await (const res of client.getObject({ bucket: "artifacts", key: "bench.bin" })) {
      if (res.part.case === "chunk") received += res.part.value.length;
    }
    if (received !== size) throw new Error(`GetObject returned ${received} bytes`);
    row("GetObject (JetStream → node → client)", started);

    started = performance.now();
    await client.appendFact({
      envelope: {
        messageId: "bench-ref",
        fromZone: "enterprise",
        toZone: "plant-a",
        producedAtUnixMs: 1n,
        objectMediaType: "application/octet-stream",
      },
      fact: {
        subject: "batch:bench",
        predicate: "attached",
        objectJson: JSON.stringify({
          bucket: "artifacts",
          key: "bench.bin",
          digest: put.digest,
          size: Number(put.size),
        }),
      },
      category: "documents",
    });
    await eventually(
      async () =>
        (await plantClient.fetchFacts({ consumerName: "documents-reader", limit: 1, waitMs: 100 })).facts
          .length > 0,
      600_000,
      "artifact fact in plant-a",
    );
    row("cross-zone copy (GetObject from peer → verify → forward buffer)", started);
  } finally {
    await mesh.stop();
  }
  return rows;
}
