import { createHash } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import type { PutObjectRequest } from "../../src/gen/bsfg/v1/boundary_pb.js";
import { eventually } from "../fixtures/test-node.js";
import { startZones, type Zones } from "../fixtures/zones.js";

// A multi-hundred-MiB artifact crossing the boundary through a partition and
// a kill -9 of the receiving node: the referencing fact appears in the other
// zone only with the exact bytes, and the interrupted copies resume instead
// of starting over.

const MIB = 1024 * 1024;
const SIZE = 300 * MIB;

let zones: Zones | undefined;
afterEach(async () => {
  await zones?.stop();
  zones = undefined;
});

/** Deterministic, incompressible-enough content without holding 300 MiB in memory. */
function block(i: number): Buffer {
  const b = Buffer.alloc(MIB);
  for (let at = 0; at < MIB; at += 32) createHash("sha256").update(`${i}:${at}`).digest().copy(b, at);
  return b;
}

describe("artifact crossing under faults", () => {
  it("copies a 300 MiB artifact through a partition and a receiver kill -9, resuming, digest intact", async () => {
    zones = await startZones(["enterprise", "plant-a"]);
    const enterprise = zones.zone("enterprise");
    const plant = zones.zone("plant-a");

    const hash = createHash("sha256");
    const put = await enterprise.client.putObject(
      (async function* () {
        yield {
          part: {
            case: "header",
            value: { bucket: "artifacts", key: "big/BR-300.bin", mediaType: "application/octet-stream" },
          },
        } as PutObjectRequest;
        for (let i = 0; i < SIZE / MIB; i++) {
          const b = block(i);
          hash.update(b);
          yield { part: { case: "chunk", value: b } } as unknown as PutObjectRequest;
        }
      })(),
    );
    const digest = `sha256:${hash.digest("hex")}`;
    expect(put.digest).toBe(digest);

    const before = enterprise.proxy.bytesFromTarget;
    await enterprise.client.appendFact({
      envelope: {
        messageId: "big-BR-300",
        fromZone: "enterprise",
        toZone: "plant-a",
        producedAtUnixMs: BigInt(Date.now()),
        objectMediaType: "application/octet-stream",
      },
      fact: {
        subject: "batch:BR-300",
        predicate: "batch_record_released",
        objectJson: JSON.stringify({ bucket: "artifacts", key: "big/BR-300.bin", digest, size: SIZE }),
      },
      category: "documents",
    });
    const moved = () => enterprise.proxy.bytesFromTarget - before;

    // While the big document is copying, a small fact of another category crosses regardless.
    await eventually(() => moved() > 10 * MIB, 120_000, "copy started");
    await enterprise.client.appendFact({
      envelope: {
        messageId: "small-op-1",
        fromZone: "enterprise",
        toZone: "plant-a",
        producedAtUnixMs: BigInt(Date.now()),
      },
      fact: { subject: "order:1", predicate: "order_created", objectJson: "{}" },
      category: "operational",
    });
    await eventually(
      async () =>
        (
          await plant.client.fetchFacts({ consumerName: "operational-reader", limit: 10, waitMs: 200 })
        ).facts.some((f) => f.envelope?.messageId === "small-op-1"),
      30_000,
      "the operational fact while the artifact copies",
    );
    expect(moved()).toBeLessThan(SIZE);

    // Partition once the copy is well under way.
    await eventually(() => moved() > 60 * MIB, 120_000, "copy under way");
    enterprise.proxy.cut();
    await new Promise((r) => setTimeout(r, 2000));
    enterprise.proxy.heal();

    // Then kill the receiving node in the middle of the resumed copy.
    await eventually(() => moved() > 150 * MIB, 120_000, "copy resumed after the partition");
    await plant.node.kill();
    await plant.node.start();

    // The fact becomes visible in plant-a only with its artifact, and the bytes are exactly the source's.
    await eventually(
      async () =>
        (
          await plant.client.fetchFacts({ consumerName: "documents-reader", limit: 10, waitMs: 500 })
        ).facts.some((f) => f.envelope?.messageId === "big-BR-300"),
      180_000,
      "the referencing fact in plant-a",
    );
    const copy = createHash("sha256");
    let size = 0;
    for await (const res of plant.client.getObject({ bucket: "artifacts", key: "big/BR-300.bin" })) {
      if (res.part.case === "info") expect(res.part.value.digest).toBe(digest);
      if (res.part.case === "chunk") {
        copy.update(res.part.value);
        size += res.part.value.length;
      }
    }
    expect(size).toBe(SIZE);
    expect(`sha256:${copy.digest("hex")}`).toBe(digest);
    // Two interruptions cost only what was in flight: restarting from zero would have moved ≥ 1.5× the size.
    expect(moved()).toBeLessThan(1.2 * SIZE);
  });
});
