import { createHash, randomBytes } from "node:crypto";
import { type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHUNK_BYTES, JetStreamObjectStore } from "../../src/adapters/jetstream/jetstream-object-store.js";
import { provisionBuckets } from "../../src/adapters/jetstream/provisioning.js";
import { DomainError } from "../../src/domain/errors.js";
import { silentLogger } from "../../src/ports/logger.js";
import { type NatsServerHandle, startNatsServer } from "../fixtures/nats-server.js";

let server: NatsServerHandle;
let nc: NatsConnection;
let jsm: JetStreamManager;
let store: JetStreamObjectStore;

beforeAll(async () => {
  server = await startNatsServer();
  nc = await connect({ servers: server.url });
  jsm = await jetstreamManager(nc);
  await provisionBuckets(
    jsm,
    [{ name: "artifacts", maxBytes: -1, replicas: 1, storage: "file" }],
    silentLogger,
  );
  store = new JetStreamObjectStore({
    nats: () => ({ nc, js: jetstream(nc), jsm }),
    publishTimeoutMs: 5000,
    now: () => 1,
  });
});

afterAll(async () => {
  await nc?.close();
  await server?.stop();
});

async function* chunked(data: Uint8Array, size: number): AsyncIterable<Uint8Array> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

const sha = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of chunks) parts.push(c);
  return Buffer.concat(parts);
}

async function kindOf(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => "ok",
    (e: unknown) => (e instanceof DomainError ? e.kind : `other: ${String(e)}`),
  );
}

async function chunkMessages(): Promise<number> {
  const info = await jsm.streams.info("objects_artifacts", { subjects_filter: "objects.artifacts.c.>" });
  return Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0);
}

const limits = { maxBytes: 64 * 1024 * 1024 };

describe("JetStreamObjectStore", () => {
  it("round-trips an object of several chunks with its digest and size", async () => {
    const data = randomBytes(3 * CHUNK_BYTES + 12345);
    const put = await store.put(
      "artifacts",
      "batch/BR-1.bin",
      "application/octet-stream",
      chunked(data, 100_000),
      {
        ...limits,
        size: data.length,
        sha256: sha(data),
      },
    );
    expect(put).toMatchObject({ created: true, info: { size: data.length, digest: `sha256:${sha(data)}` } });
    const got = await store.get("artifacts", "batch/BR-1.bin");
    expect(got.info.mediaType).toBe("application/octet-stream");
    expect((await collect(got.chunks)).equals(data)).toBe(true);
    expect(await store.stat("artifacts", "batch/BR-1.bin")).toEqual(put.info);
  });

  it("treats the same bytes under the same key as an idempotent success, leaving no extra chunks", async () => {
    const data = randomBytes(50_000);
    await store.put("artifacts", "same.bin", "", chunked(data, 7000), limits);
    const before = await chunkMessages();
    const again = await store.put("artifacts", "same.bin", "", chunked(data, 9000), limits);
    expect(again.created).toBe(false);
    expect(await chunkMessages()).toBe(before);
  });

  it("refuses different bytes under an existing key with already_exists, keeping the original", async () => {
    const data = randomBytes(1000);
    await store.put("artifacts", "immutable.bin", "", chunked(data, 1000), limits);
    const before = await chunkMessages();
    expect(
      await kindOf(store.put("artifacts", "immutable.bin", "", chunked(randomBytes(1000), 1000), limits)),
    ).toBe("already_exists");
    expect(await chunkMessages()).toBe(before);
    expect((await collect((await store.get("artifacts", "immutable.bin")).chunks)).equals(data)).toBe(true);
  });

  it("leaves nothing behind when the declared size, digest or the maximum size do not hold", async () => {
    const data = randomBytes(CHUNK_BYTES * 2);
    const before = await chunkMessages();
    expect(
      await kindOf(store.put("artifacts", "bad-size", "", chunked(data, 65536), { ...limits, size: 10 })),
    ).toBe("precondition_failed");
    expect(
      await kindOf(
        store.put("artifacts", "bad-sha", "", chunked(data, 65536), { ...limits, sha256: "0".repeat(64) }),
      ),
    ).toBe("precondition_failed");
    expect(
      await kindOf(store.put("artifacts", "too-big", "", chunked(data, 65536), { maxBytes: CHUNK_BYTES })),
    ).toBe("too_large");
    expect(await chunkMessages()).toBe(before);
    for (const key of ["bad-size", "bad-sha", "too-big"])
      expect(await store.stat("artifacts", key)).toBeUndefined();
  });

  it("answers not_found for a missing key or bucket and stores empty objects", async () => {
    expect(await kindOf(store.get("artifacts", "missing"))).toBe("not_found");
    expect(await kindOf(store.get("nobucket", "x"))).toBe("not_found");
    const empty = await store.put("artifacts", "empty", "text/plain", chunked(new Uint8Array(0), 1), limits);
    expect(empty.info).toMatchObject({ size: 0, digest: `sha256:${sha(new Uint8Array(0))}` });
    expect((await collect((await store.get("artifacts", "empty")).chunks)).length).toBe(0);
  });
});

describe("resumable copies and offset reads", () => {
  it("reads from a byte offset inside a chunk", async () => {
    const data = randomBytes(CHUNK_BYTES * 2 + 500);
    await store.put("artifacts", "offset.bin", "", chunked(data, 70_000), limits);
    for (const offset of [0, 1, CHUNK_BYTES - 1, CHUNK_BYTES, CHUNK_BYTES * 2 + 499, data.length]) {
      const got = await collect((await store.get("artifacts", "offset.bin", offset)).chunks);
      expect(got.equals(data.subarray(offset))).toBe(true);
    }
    expect(await kindOf(store.get("artifacts", "offset.bin", data.length + 1))).toBe("invalid_input");
  });

  it("resumes an interrupted copy from the staged bytes, asking the source only for the rest", async () => {
    const data = randomBytes(CHUNK_BYTES * 3 + 1000);
    const asked: number[] = [];
    const failingAfter = (limit: number) => (offset: number) => {
      asked.push(offset);
      return (async function* () {
        let sent = 0;
        for (let i = offset; i < data.length; i += 100_000) {
          if (sent >= limit) throw new DomainError("unavailable", "link cut");
          const piece = data.subarray(i, Math.min(data.length, i + 100_000));
          sent += piece.length;
          yield piece;
        }
      })();
    };
    const expect_ = { ...limits, size: data.length, sha256: sha(data) };
    expect(
      await kindOf(
        store.putResumable("artifacts", "copy.bin", "", "upload-1", failingAfter(300_000), expect_),
      ),
    ).toBe("unavailable");
    expect(await store.stat("artifacts", "copy.bin")).toBeUndefined();
    const done = await store.putResumable(
      "artifacts",
      "copy.bin",
      "",
      "upload-1",
      failingAfter(Number.POSITIVE_INFINITY),
      expect_,
    );
    expect(done.created).toBe(true);
    expect(asked[0]).toBe(0);
    expect(asked[1]).toBeGreaterThanOrEqual(300_000);
    expect((await collect((await store.get("artifacts", "copy.bin")).chunks)).equals(data)).toBe(true);
    // Already there with that digest: nothing is asked of the source.
    await store.putResumable("artifacts", "copy.bin", "", "upload-1", failingAfter(0), expect_);
    expect(asked).toHaveLength(2);
  });

  it("discards staged bytes whose digest turns out wrong", async () => {
    const data = randomBytes(5000);
    const source = () => chunked(data, 1000);
    expect(
      await kindOf(
        store.putResumable("artifacts", "wrong.bin", "", "upload-2", source, {
          ...limits,
          sha256: "1".repeat(64),
        }),
      ),
    ).toBe("precondition_failed");
    const info = await jsm.streams.info("objects_artifacts", {
      subjects_filter: "objects.artifacts.c.upload-2",
    });
    expect(Object.keys(info.state.subjects ?? {})).toEqual([]);
  });
});

describe("JetStreamObjectStore under a refused chunk", () => {
  it("fails the upload (and only it) when a chunk is refused while the next one is still on its way", async () => {
    await provisionBuckets(
      jsm,
      [{ name: "tiny", maxBytes: 3 * CHUNK_BYTES, replicas: 1, storage: "file" }],
      silentLogger,
    );
    // A slow client: the bucket fills at the fourth chunk, whose refusal arrives while
    // the store waits for the fifth. Unobserved, that rejection would end the process.
    async function* slow(): AsyncIterable<Uint8Array> {
      for (let i = 0; i < 6; i++) {
        yield randomBytes(CHUNK_BYTES);
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
    }
    expect(await kindOf(store.put("tiny", "slow-and-too-big", "", slow(), limits))).toBe("back_pressure");
    const data = randomBytes(1000);
    await store.put("artifacts", "after-refusal", "", chunked(data, 500), limits);
    expect(sha(await collect((await store.get("artifacts", "after-refusal", 0)).chunks))).toBe(sha(data));
  });
});
