import { createHash, type Hash } from "node:crypto";
import {
  AckPolicy,
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  type PubAck,
} from "@nats-io/jetstream";
import { headers, type Msg, type NatsConnection, nanos, nuid } from "@nats-io/transport-node";
import { DomainError } from "../../domain/errors.js";
import { settleLater } from "../../domain/settle-later.js";
import type { ObjectInfo, ObjectStore, PutExpectations, PutResult } from "../../ports/object-store.js";
import { encodeToken } from "./category-spec.js";
import { pull, streamSequence } from "./jetstream-fact-log.js";
import { JsCode, jsApiCode, toDomainError } from "./nats-errors.js";

/** Chunks stay well under NATS's default 1 MiB max_payload. */
export const CHUNK_BYTES = 256 * 1024;
/** Chunk publishes in flight per upload: bounds memory to ~4 MiB whatever the object size. */
const MAX_IN_FLIGHT = 16;
/** Chunks fetched ahead of the reader per pull (4 MiB: bounds a slow reader's cost). */
const READ_AHEAD = 16;

export const objectStreamName = (bucket: string): string => `objects_${bucket}`;
const chunkSubject = (bucket: string, uploadId: string) => `objects.${bucket}.c.${uploadId}`;
const metaSubject = (bucket: string, key: string) => `objects.${bucket}.m.${encodeToken(key)}`;

const OFFSET_HEADER = "Bsfg-Offset";

interface UploadState {
  hash: Hash;
  size: number;
  chunks: number;
  firstSeq: number;
}

const freshUpload = (): UploadState => ({ hash: createHash("sha256"), size: 0, chunks: 0, firstSeq: 0 });

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
    const uploadId = nuid.next();
    try {
      return await this.#upload(bucket, key, mediaType, uploadId, freshUpload(), chunks, expect);
    } catch (error) {
      // Nothing of a failed put stays behind: its chunks live only under its upload id.
      await this.#purgeUpload(bucket, uploadId);
      throw toDomainError(error, "put object");
    }
  }

  async putResumable(
    bucket: string,
    key: string,
    mediaType: string,
    uploadId: string,
    source: (offset: number) => AsyncIterable<Uint8Array>,
    expect: PutExpectations,
  ): Promise<PutResult> {
    const existing = await this.#meta(bucket, key);
    if (
      existing !== undefined &&
      expect.sha256 !== undefined &&
      existing.digest === `sha256:${expect.sha256}`
    ) {
      return { info: publicInfo(existing), created: false };
    }
    const staged = await this.#replay(bucket, uploadId);
    try {
      return await this.#upload(bucket, key, mediaType, uploadId, staged, source(staged.size), expect);
    } catch (error) {
      const e = toDomainError(error, "copy object");
      // Wrong bytes are never resumed from; a broken link or NATS outage is.
      if (e.kind !== "unavailable") await this.#purgeUpload(bucket, uploadId);
      throw e;
    }
  }

  async get(
    bucket: string,
    key: string,
    offset = 0,
  ): Promise<{ info: ObjectInfo; chunks: AsyncIterable<Uint8Array> }> {
    const meta = await this.#meta(bucket, key);
    if (meta === undefined)
      throw new DomainError("not_found", `no object ${bucket}/${key}`, { field: "key" });
    if (offset > meta.size) {
      throw new DomainError("invalid_input", `offset: ${offset} is beyond the object's ${meta.size} bytes`, {
        field: "offset",
      });
    }
    return { info: publicInfo(meta), chunks: this.#chunks(meta, offset) };
  }

  /** Appends `chunks` to an upload in progress, verifies it whole, then makes it visible under `key`. */
  async #upload(
    bucket: string,
    key: string,
    mediaType: string,
    uploadId: string,
    upload: UploadState,
    chunks: AsyncIterable<Uint8Array>,
    expect: PutExpectations,
  ): Promise<PutResult> {
    const { js, jsm } = this.#connected();
    const subject = chunkSubject(bucket, uploadId);
    const inFlight: Array<Promise<PubAck>> = [];
    const settleOldest = async () => {
      const ack = await (inFlight.shift() as Promise<PubAck>);
      if (upload.firstSeq === 0) upload.firstSeq = ack.seq;
    };
    try {
      for await (const chunk of chunks) {
        for (let at = 0; at < chunk.length; at += CHUNK_BYTES) {
          const piece = chunk.subarray(at, Math.min(chunk.length, at + CHUNK_BYTES));
          if (upload.size + piece.length > expect.maxBytes) {
            throw new DomainError(
              "too_large",
              `object exceeds the maximum size of ${expect.maxBytes} bytes`,
              { field: "chunk" },
            );
          }
          if (expect.size !== undefined && upload.size + piece.length > expect.size) {
            throw new DomainError(
              "precondition_failed",
              `header.size: declared ${expect.size} bytes, received more`,
              {
                field: "header.size",
              },
            );
          }
          const h = headers();
          h.set(OFFSET_HEADER, String(upload.size));
          // Settled in order below; one failing while the next chunk is awaited must not crash the node.
          inFlight.push(
            settleLater(js.publish(subject, piece, { headers: h, timeout: this.#o.publishTimeoutMs })),
          );
          upload.hash.update(piece);
          upload.size += piece.length;
          upload.chunks++;
          if (inFlight.length >= MAX_IN_FLIGHT) await settleOldest();
        }
      }
      while (inFlight.length > 0) await settleOldest();
    } finally {
      await Promise.allSettled(inFlight);
    }
    const digest = upload.hash.digest("hex");
    if (expect.size !== undefined && upload.size !== expect.size) {
      throw new DomainError(
        "precondition_failed",
        `header.size: declared ${expect.size} bytes, received ${upload.size}`,
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
      size: upload.size,
      digest: `sha256:${digest}`,
      storedAtUnixMs: this.#o.now(),
      uploadId,
      chunks: upload.chunks,
      firstSeq: upload.firstSeq,
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
      if (jsApiCode(error) !== JsCode.WrongLastSequence) {
        // The metadata may have landed although its acknowledgement did not.
        const landed = await this.#meta(bucket, key).catch(() => undefined);
        if (landed?.uploadId === uploadId) return { info: publicInfo(landed), created: true };
        throw error;
      }
    }
    const existing = await this.#meta(bucket, key);
    await jsm.streams.purge(objectStreamName(bucket), { filter: subject }).catch(() => undefined);
    if (existing !== undefined && existing.digest === meta.digest)
      return { info: publicInfo(existing), created: false };
    throw new DomainError(
      "already_exists",
      `key: ${bucket}/${key} already holds different bytes (${existing?.digest ?? "unknown digest"}); keys are immutable`,
      { field: "header.key" },
    );
  }

  /**
   * What an interrupted upload already stored, re-read locally so the hash
   * can continue. A gap (a lost chunk publish) makes the staged bytes useless:
   * they are discarded and the copy starts over.
   */
  async #replay(bucket: string, uploadId: string): Promise<UploadState> {
    const upload = freshUpload();
    let gap = false;
    for await (const m of this.#messages(bucket, chunkSubject(bucket, uploadId), 1)) {
      if (Number(m.headers?.get(OFFSET_HEADER)) !== upload.size) {
        gap = true;
        break;
      }
      if (upload.firstSeq === 0) upload.firstSeq = streamSequence(m.reply ?? "");
      upload.hash.update(m.data);
      upload.size += m.data.length;
      upload.chunks++;
    }
    if (!gap) return upload;
    await this.#purgeUpload(bucket, uploadId);
    return freshUpload();
  }

  async *#chunks(meta: StoredMeta, offset: number): AsyncIterable<Uint8Array> {
    if (meta.chunks === 0) return;
    const hash = offset === 0 ? createHash("sha256") : undefined;
    let position = 0;
    let delivered = 0;
    for await (const m of this.#messages(
      meta.bucket,
      chunkSubject(meta.bucket, meta.uploadId),
      meta.firstSeq,
    )) {
      if (Number(m.headers?.get(OFFSET_HEADER)) !== position) {
        throw new DomainError(
          "internal",
          `object ${meta.bucket}/${meta.key}: chunk at ${position} is missing`,
        );
      }
      const start = position;
      position += m.data.length;
      delivered++;
      hash?.update(m.data);
      // Skipping happens here, next to the data: a resumed copy re-sends nothing over the network.
      if (position > offset) yield start >= offset ? m.data : m.data.subarray(offset - start);
      if (delivered === meta.chunks) break;
    }
    if (delivered !== meta.chunks || position !== meta.size) {
      throw new DomainError("internal", `object ${meta.bucket}/${meta.key}: stored chunks end early`);
    }
    if (hash !== undefined && `sha256:${hash.digest("hex")}` !== meta.digest) {
      throw new DomainError(
        "internal",
        `object ${meta.bucket}/${meta.key}: stored bytes do not match their digest`,
      );
    }
  }

  /**
   * Every message of one subject from `fromSeq`, pulled a few at a time and
   * only when the caller asks for more, through a throwaway consumer.
   */
  async *#messages(bucket: string, subject: string, fromSeq: number): AsyncIterable<Msg> {
    const { nc, jsm } = this.#connected();
    const stream = objectStreamName(bucket);
    const name = `bsfg_obj_${nuid.next()}`;
    try {
      await jsm.consumers.add(stream, {
        name,
        ack_policy: AckPolicy.None,
        deliver_policy: DeliverPolicy.StartSequence,
        opt_start_seq: Math.max(1, fromSeq),
        filter_subject: subject,
        mem_storage: true,
        inactive_threshold: nanos(60_000),
      });
      // One reader across the pulls, so a chunk lost between two batches is a failure, not a gap.
      const reader = { stream, name, after: 0, delivered: 0 };
      for (;;) {
        const msgs = await pull(nc, reader, { batch: READ_AHEAD, no_wait: true }, 10_000);
        for (const m of msgs) yield m;
        if (msgs.length < READ_AHEAD) return;
      }
    } catch (error) {
      throw toDomainError(error, "object read");
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

  async #purgeUpload(bucket: string, uploadId: string): Promise<void> {
    const jsm = this.#o.nats()?.jsm;
    await jsm?.streams
      .purge(objectStreamName(bucket), { filter: chunkSubject(bucket, uploadId) })
      .catch(() => undefined);
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
