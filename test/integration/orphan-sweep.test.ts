import { randomBytes } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { describe, expect, it } from "vitest";
import type { PutObjectRequest } from "../../src/gen/bsfg/v1/boundary_pb.js";
import { referencingFact } from "../fixtures/artifact-reference.js";
import { clientFor, eventually } from "../fixtures/test-node.js";
import { useTestNode } from "../fixtures/use-test-node.js";

const t = useTestNode({
  principals: { erp: { append: ["operational"], put: ["artifacts"], get: ["artifacts"] } },
  buckets: { artifacts: { orphan_age: "1s" } },
});

function upload(key: string, data: Uint8Array): AsyncIterable<PutObjectRequest> {
  return (async function* () {
    yield {
      part: { case: "header", value: { bucket: "artifacts", key, mediaType: "" } },
    } as PutObjectRequest;
    yield { part: { case: "chunk", value: data } } as PutObjectRequest;
  })();
}

async function exists(key: string): Promise<boolean> {
  try {
    for await (const _ of clientFor(t.running.url, t.pki.ca, t.pki.clients.erp).getObject({
      bucket: "artifacts",
      key,
    }))
      break;
    return true;
  } catch (error) {
    if (ConnectError.from(error).code === Code.NotFound) return false;
    throw error;
  }
}

describe("orphan sweep", () => {
  it("removes unreferenced objects and abandoned uploads after the orphan age, and keeps referenced ones", async () => {
    const client = clientFor(t.running.url, t.pki.ca, t.pki.clients.erp);
    const orphan = randomBytes(1000);
    const kept = randomBytes(1000);
    await client.putObject(upload("orphan.bin", orphan));
    await client.putObject(upload("kept.bin", kept));
    await client.appendFact(referencingFact("ref-kept", "artifacts", "kept.bin", kept));
    const nc = await connect({ servers: t.nats.url });
    try {
      await jetstream(nc).publish("objects.artifacts.c.abandoned-upload", randomBytes(100));
      await eventually(async () => !(await exists("orphan.bin")), 20_000, "orphan removed");
      const jsm = await jetstreamManager(nc);
      await eventually(
        async () => {
          const info = await jsm.streams.info("objects_artifacts", {
            subjects_filter: "objects.artifacts.c.abandoned-upload",
          });
          return Object.keys(info.state.subjects ?? {}).length === 0;
        },
        20_000,
        "abandoned upload removed",
      );
    } finally {
      await nc.close();
    }
    expect(await exists("kept.bin")).toBe(true);
  });
});
