import { randomBytes } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeToken } from "../../src/adapters/jetstream/category-spec.js";
import { KvReferenceRegistry, REFERENCE_BUCKET } from "../../src/adapters/jetstream/kv-reference-registry.js";
import { type RemovalMark, referenceKey, sweepOrphans } from "../../src/adapters/jetstream/orphan-sweeper.js";
import type { PutObjectRequest } from "../../src/gen/bsfg/v1/boundary_pb.js";
import { silentLogger } from "../../src/ports/logger.js";
import { referencingFact } from "../fixtures/artifact-reference.js";
import { clientFor } from "../fixtures/test-node.js";
import { useTestNode } from "../fixtures/use-test-node.js";

const t = useTestNode({
  principals: { erp: { append: ["operational"], put: ["artifacts"], get: ["artifacts"] } },
  // The node's own sweep stays out of the way (it would next run in 10 minutes); the test sweeps.
  buckets: { artifacts: { orphan_age: "1h" } },
  log_level: "warn",
});
let nc: NatsConnection;
let registry: KvReferenceRegistry;

beforeAll(async () => {
  nc = await connect({ servers: t.nats.url });
  const kv = await new Kvm(jetstream(nc)).open(REFERENCE_BUCKET);
  registry = new KvReferenceRegistry(
    () => kv,
    86_400_000,
    () => Date.now(),
  );
});

afterAll(async () => {
  await nc?.close();
});

async function put(key: string): Promise<Uint8Array> {
  const data = new Uint8Array(randomBytes(2000));
  await clientFor(t.running.url, t.pki.ca, t.pki.clients.erp).putObject(
    (async function* () {
      yield {
        part: { case: "header", value: { bucket: "artifacts", key, mediaType: "" } },
      } as PutObjectRequest;
      yield { part: { case: "chunk", value: data } } as PutObjectRequest;
    })(),
  );
  return data;
}

/** AppendFact referencing the object; the Connect code it failed with, or "ok". */
async function reference(messageId: string, key: string, data: Uint8Array): Promise<Code | "ok"> {
  try {
    await clientFor(t.running.url, t.pki.ca, t.pki.clients.erp).appendFact(
      referencingFact(messageId, "artifacts", key, data),
    );
    return "ok";
  } catch (error) {
    return ConnectError.from(error).code;
  }
}

/** One sweep that judges every object old; `between` runs after an object is marked and before it is deleted. */
async function sweep(between: (mark: RemovalMark) => Promise<void> = async () => undefined) {
  return sweepOrphans({
    nc,
    jsm: await jetstreamManager(nc),
    bucket: "artifacts",
    orphanAgeMs: 0,
    nowMs: Date.now() + 1000,
    markRemoval: async (key) => {
      const mark = await registry.markRemoval(key);
      if (mark !== undefined) await between(mark);
      return mark;
    },
    clearRemoval: (mark) => registry.clearRemoval(mark),
    logger: silentLogger,
  });
}

async function storedIn(key: string): Promise<boolean> {
  const subject = `objects.artifacts.m.${encodeToken(key)}`;
  const info = await (await jetstreamManager(nc)).streams.info("objects_artifacts", {
    subjects_filter: subject,
  });
  return (info.state.subjects?.[subject] ?? 0) > 0;
}

describe("orphan sweep racing a new reference", () => {
  it("refuses a reference that arrives while the sweep deletes the object, so no fact points at a deleted artifact", async () => {
    const data = await put("late.bin");
    let during: Code | "ok" | undefined;
    const result = await sweep(async () => {
      during = await reference("ref-late", "late.bin", data);
    });
    // Retryable: once the sweep is done, the retry is told the object is gone.
    expect(during).toBe(Code.Unavailable);
    expect(result.objectsRemoved).toBe(1);
    expect(await storedIn("late.bin")).toBe(false);
    expect(await reference("ref-late", "late.bin", data)).toBe(Code.FailedPrecondition);
    // The mark is cleared: the key can be put and referenced again.
    const again = await put("late.bin");
    expect(await reference("ref-late-2", "late.bin", again)).toBe("ok");
  });

  it("keeps an object referenced before the sweep marks it", async () => {
    const data = await put("early.bin");
    expect(await reference("ref-early", "early.bin", data)).toBe("ok");
    const result = await sweep();
    expect(result.objectsRemoved).toBe(0);
    expect(await storedIn("early.bin")).toBe(true);
  });

  it("lets a hold take over a mark that a crashed sweep left behind long ago", async () => {
    const data = await put("stale.bin");
    const kv = await new Kvm(jetstream(nc)).open(REFERENCE_BUCKET);
    await kv.put(referenceKey("artifacts", "stale.bin"), `removing:${Date.now() - 10 * 60_000}`);
    expect(await reference("ref-stale", "stale.bin", data)).toBe("ok");
    expect((await sweep()).objectsRemoved).toBe(0);
    expect(await storedIn("stale.bin")).toBe(true);
  });
});
