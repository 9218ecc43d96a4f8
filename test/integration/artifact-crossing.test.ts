import { createHash, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PutObjectRequest } from "../../src/gen/bsfg/v1/boundary_pb.js";
import { type Mesh, type MeshZoneHandle, startMesh } from "../fixtures/mesh.js";
import { clientFor, eventually } from "../fixtures/test-node.js";

let mesh: Mesh;
beforeAll(async () => {
  mesh = await startMesh(["enterprise", "plant-a"]);
});
afterAll(async () => mesh?.stop());

const zone = (name: string) => mesh.zones[name] as MeshZoneHandle;
const app = (name: string) => clientFor(zone(name).node.url, mesh.ca, zone(name).app);
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

function upload(key: string, data: Uint8Array): AsyncIterable<PutObjectRequest> {
  return (async function* () {
    yield {
      part: { case: "header", value: { bucket: "artifacts", key, mediaType: "application/pdf" } },
    } as PutObjectRequest;
    for (let i = 0; i < data.length; i += 512 * 1024) {
      yield { part: { case: "chunk", value: data.subarray(i, i + 512 * 1024) } } as PutObjectRequest;
    }
  })();
}

async function download(name: string, key: string): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const res of app(name).getObject({ bucket: "artifacts", key })) {
    if (res.part.case === "chunk") parts.push(res.part.value);
  }
  return Buffer.concat(parts);
}

describe("artifacts crossing the boundary", () => {
  it("copies the referenced artifact, verified, before the fact is visible in the other zone", async () => {
    const data = randomBytes(3 * 1024 * 1024 + 77);
    const put = await app("enterprise").putObject(upload("batch/BR-42.pdf", data));
    const ref = { bucket: "artifacts", key: "batch/BR-42.pdf", digest: put.digest, size: Number(put.size) };
    await app("enterprise").appendFact({
      envelope: {
        messageId: "br-42",
        fromZone: "enterprise",
        toZone: "plant-a",
        producedAtUnixMs: 1n,
        objectMediaType: "application/pdf",
      },
      fact: { subject: "batch:BR-42", predicate: "batch_record_released", objectJson: JSON.stringify(ref) },
      category: "documents",
    });
    let seen = false;
    await eventually(
      async () => {
        const res = await app("plant-a").fetchFacts({
          consumerName: "documents-reader",
          limit: 10,
          waitMs: 200,
        });
        seen = res.facts.some((f) => f.envelope?.messageId === "br-42");
        return seen;
      },
      30_000,
      "the referencing fact in plant-a",
    );
    // Visible fact ⇒ the bytes are already here, with the digest the fact names.
    const copy = await download("plant-a", "batch/BR-42.pdf");
    expect(sha(copy)).toBe(sha(data));
    expect(`sha256:${sha(copy)}`).toBe(ref.digest);
  });
});
