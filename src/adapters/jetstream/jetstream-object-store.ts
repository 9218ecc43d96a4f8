import { createHash } from "node:crypto";
import {
  AckPolicy,
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  type PubAck,
} from "@nats-io/jetstream";
import { headers, type NatsConnection, nanos, nuid } from "@nats-io/transport-node";
import { DomainError } from "../../domain/errors.js";
import type { ObjectInfo, ObjectStore, PutExpectations, PutResult } from "../../ports/object-store.js";
import { encodeToken } from "./category-spec.js";
import { pull } from "./jetstream-fact-log.js";
import { JsCode, jsApiCode, toDomainError } from "./nats-errors.js";

/** Chunks stay well under NATS's default 1 MiB max_payload. */
export const CHUNK_BYTES = 256 * 1024;
/** Chunk publishes in flight per upload: bounds memory to ~4 MiB whatever the object size. */
const MAX_IN_FLIGHT = 16;
/** Chunks fetched ahead of the reader per pull. */
const READ_AHEAD = 4;

export const objectStreamName = (bucket: string): string => `objects_${bucket}`;
const chunkSubject = (bucket: string, uploadId: string) => `objects.${bucket}.c.${uploadId}`;
const metaSubject = (bucket: string, key: string) => `objects.${bucket}.m.${encodeToken(key)}`;

interface StoredMeta extends ObjectInfo {
  readonly uploadId: string;
  readonly chunks: number;
  readonly firstSeq: number;
}

export interface JetStreamObjectStoreOptions {
  readonly nats: () =>
    | { readonly nc: NatsConnection; readonly js: JetStreamClient; readonly jsm: JetStreamManager }
    | undefined;
  readonly publishTimeoutMs: number;
  readonly now: () => number;
}

/**
 * Artifacts on JetStream with our own thin chunk layer (not @nats-io/obj,
 * whose get buffers whole objects and whose SHA-256 is pure JS): chunks go to
 * a per-upload subject with bounded publishes in flight, hashed with Node's
 * crypto; the object becomes visible only when its metadata is written
 * create-if-absent on a per-key subject, which also makes keys immutable.
 */
export class JetStreamObjectStore implements ObjectStore {
  readonly #o: JetStreamObjectStoreOptions;

  constructor(options: JetStreamObjectStoreOptions) {
    this.#o = options;
  }

  async stat(bucket: string, key: string): Promise<ObjectInfo | undefined> {
    const meta = await this.#meta(bucket, key);
    return meta === undefined ? undefined : publicInfo(meta);
  }

  async put(
    bucket: string,
    key: string,
    mediaType: string,
    chunks: AsyncIterable<Uint8Array>,
    expect: PutExpectations,
  ): Promise<PutResult> {
    const { js, jsm } = this.#connected();
    const stream = objectStreamName(bucket);
    const uploadId = nuid.next();
    const subject = chunkSubject(bucket, uploadId);
    const hash = createHash("sha256");
    const inFlight: Array<Promise<PubAck>> = [];
    let size = 0;
    let count = 0;
    let firstSeq = 0;
    const settleOldest = async () => {
      const ack = await (inFlight.shift() as Promise<PubAck>);
      if (firstSeq === 0) firstSeq = ack.seq;
    };
    try {
      for await (const chunk of chunks) {
        for (let at = 0; at < chunk.length; at += CHUNK_BYTES) {
          const piece = chunk.subarray(at, Math.min(chunk.length, at + CHUNK_BYTES));
          size += piece.length;
          if (size > expect.maxBytes) {
            throw new DomainError(
              "too_large",
              `object exceeds the maximum size of ${expect.maxBytes} bytes`,
              { field: "chunk" },
            );
          }
          if (expect.size !== undefined && size > expect.size) {
            throw new DomainError(
              "precondition_failed",
              `header.size: declared ${expect.size} bytes, received more`,
              {
                field: "header.size",
              },
            );
          }
          hash.update(piece);
          inFlight.push(js.publish(subject, piece, { timeout: this.#o.publishTimeoutMs }));
          count++;
          if (inFlight.length >= MAX_IN_FLIGHT) await settleOldest();
        }
      }
      while (inFlight.length > 0) await settleOldest();
      const digest = hash.digest("hex");
      if (expect.size !== undefined && size !== expect.size) {
        throw new DomainError(
          "precondition_failed",
          `header.size: declared ${expect.size} bytes, received ${size}`,
          {
            field: "header.size",
          },
        );
      }
      if (expect.sha256 !== undefined && digest !== expect.sha256) {
        throw new DomainError(
          "precondition_failed",
          `header.sha256: declared ${expect.sha256}, received bytes hash to ${digest}`,
          {
            field: "header.sha256",
          },
        );
      }
      const meta: StoredMeta = {
        bucket,
        key,
        mediaType,
        size,
        digest: `sha256:${digest}`,
        storedAtUnixMs: this.#o.now(),
        uploadId,
        chunks: count,
        firstSeq,
      };
      const h = headers();
      h.set("Bsfg-Digest", meta.digest);
      try {
        await js.publish(metaSubject(bucket, key), JSON.stringify(meta), {
          headers: h,
          timeout: this.#o.publishTimeoutMs,
          expect: { lastSubjectSequence: 0 },
        });
        return { info: publicInfo(meta), created: true };
      } catch (error) {
        if (jsApiCode(error) !== JsCode.WrongLastSequence) throw error;
      }
      const existing = await this.#meta(bucket, key);
      await this.#purge(jsm, stream, subject);
      if (existing !== undefined && existing.digest === meta.digest)
        return { info: publicInfo(existing), created: false };
      throw new DomainError(
        "already_exists",
        `key: ${bucket}/${key} already holds different bytes (${existing?.digest ?? "unknown digest"}); keys are immutable`,
        { field: "header.key" },
      );
    } catch (error) {
      // Nothing of a failed put stays behind: its chunks live only under its upload id.
      await Promise.allSettled(inFlight);
      await this.#purge(jsm, stream, subject);
      throw toDomainError(error, "put object");
    }
  }

  async get(bucket: string, key: string): Promise<{ info: ObjectInfo; chunks: AsyncIterable<Uint8Array> }> {
    const meta = await this.#meta(bucket, key);
    if (meta === undefined)
      throw new DomainError("not_found", `no object ${bucket}/${key}`, { field: "key" });
    return { info: publicInfo(meta), chunks: this.#chunks(meta) };
  }

  async *#chunks(meta: StoredMeta): AsyncIterable<Uint8Array> {
    if (meta.chunks === 0) return;
    const { nc, jsm } = this.#connected();
    const stream = objectStreamName(meta.bucket);
    const name = `bsfg_get_${nuid.next()}`;
    try {
      await jsm.consumers.add(stream, {
        name,
        ack_policy: AckPolicy.None,
        deliver_policy: DeliverPolicy.StartSequence,
        opt_start_seq: meta.firstSeq,
        filter_subject: chunkSubject(meta.bucket, meta.uploadId),
        mem_storage: true,
        inactive_threshold: nanos(60_000),
      });
      const hash = createHash("sha256");
      let delivered = 0;
      while (delivered < meta.chunks) {
        // Pull only when the reader asked for more: a slow client holds at most READ_AHEAD chunks here.
        const batch = Math.min(READ_AHEAD, meta.chunks - delivered);
        const msgs = await pull(nc, { stream, name, after: 0 }, { batch, no_wait: true }, 10_000);
        if (msgs.length === 0)
          throw new DomainError("unavailable", `object ${meta.bucket}/${meta.key}: chunks missing`);
        for (const m of msgs) {
          delivered++;
          hash.update(m.data);
          yield m.data;
        }
      }
      if (`sha256:${hash.digest("hex")}` !== meta.digest) {
        throw new DomainError(
          "internal",
          `object ${meta.bucket}/${meta.key}: stored bytes do not match their digest`,
        );
      }
    } catch (error) {
      throw toDomainError(error, "get object");
    } finally {
      await jsm.consumers.delete(stream, name).catch(() => undefined);
    }
  }

  async #meta(bucket: string, key: string): Promise<StoredMeta | undefined> {
    const { jsm } = this.#connected();
    try {
      const m = await jsm.streams.getMessage(objectStreamName(bucket), {
        last_by_subj: metaSubject(bucket, key),
      });
      return m === null ? undefined : (JSON.parse(new TextDecoder().decode(m.data)) as StoredMeta);
    } catch (error) {
      if (jsApiCode(error) === JsCode.StreamNotFound) {
        throw new DomainError("not_found", `no bucket named "${bucket}"`, { field: "bucket" });
      }
      throw toDomainError(error, "object metadata");
    }
  }

  async #purge(jsm: JetStreamManager, stream: string, subject: string): Promise<void> {
    await jsm.streams.purge(stream, { filter: subject }).catch(() => undefined);
  }

  #connected() {
    const nats = this.#o.nats();
    if (nats === undefined || nats.nc.isClosed())
      throw new DomainError("unavailable", "the zone's NATS is not connected");
    return nats;
  }
}

function publicInfo(meta: StoredMeta): ObjectInfo {
  return {
    bucket: meta.bucket,
    key: meta.key,
    mediaType: meta.mediaType,
    size: meta.size,
    digest: meta.digest,
    storedAtUnixMs: meta.storedAtUnixMs,
  };
}
