import { AckPolicy, DeliverPolicy, type JetStreamManager } from "@nats-io/jetstream";
import { type NatsConnection, nanos, nuid } from "@nats-io/transport-node";
import type { Logger } from "../../ports/logger.js";
import { encodeToken } from "./category-spec.js";
import { pull, streamSequence } from "./jetstream-fact-log.js";
import { objectStreamName } from "./jetstream-object-store.js";

/** The key under which the reference hold of an object is kept (KV-safe). */
export const referenceKey = (bucket: string, key: string): string => `${bucket}.${encodeToken(key)}`;

/** What the sweep holds on an object's reference key while it removes the object. */
export interface RemovalMark {
  readonly key: string;
  readonly revision: number;
}

export interface SweepOptions {
  readonly nc: NatsConnection;
  readonly jsm: JetStreamManager;
  readonly bucket: string;
  readonly orphanAgeMs: number;
  /**
   * Marks an object for removal unless retained facts reference it; the mark
   * refuses new references until cleared. Undefined: keep the object.
   */
  readonly markRemoval: (referenceKey: string) => Promise<RemovalMark | undefined>;
  readonly clearRemoval: (mark: RemovalMark) => Promise<void>;
  readonly nowMs: number;
  readonly logger: Logger;
}

export interface SweepResult {
  readonly objectsRemoved: number;
  readonly stagedUploadsRemoved: number;
}

/**
 * Removes objects older than the orphan age that no retained fact references
 * (never referenced, or every referencing fact's retention has passed), and
 * staged chunks of uploads that never completed (crashed puts, abandoned
 * copies) once they are that old.
 */
export async function sweepOrphans(o: SweepOptions): Promise<SweepResult> {
  const stream = objectStreamName(o.bucket);
  const liveUploads = new Set<string>();
  let objectsRemoved = 0;
  for (const meta of await readMetas(o.nc, o.jsm, stream, `objects.${o.bucket}.m.>`)) {
    const old = o.nowMs - meta.storedAtUnixMs > o.orphanAgeMs;
    const mark = old ? await o.markRemoval(referenceKey(o.bucket, meta.key)) : undefined;
    if (mark === undefined) {
      liveUploads.add(meta.uploadId);
      continue;
    }
    // Metadata first: from then on nobody can see the object, and its chunks are plain garbage.
    // Only up to the version judged here: a put of the same key since then stays.
    await o.jsm.streams.purge(stream, {
      filter: `objects.${o.bucket}.m.${encodeToken(meta.key)}`,
      seq: meta.seq + 1,
    });
    await o.jsm.streams.purge(stream, { filter: `objects.${o.bucket}.c.${meta.uploadId}` });
    await o.clearRemoval(mark);
    objectsRemoved++;
    o.logger.info({ bucket: o.bucket, key: meta.key, digest: meta.digest }, "orphaned object removed");
  }
  let stagedUploadsRemoved = 0;
  const info = await o.jsm.streams.info(stream, { subjects_filter: `objects.${o.bucket}.c.>` });
  for (const subject of Object.keys(info.state.subjects ?? {})) {
    const uploadId = subject.slice(`objects.${o.bucket}.c.`.length);
    if (liveUploads.has(uploadId)) continue;
    const last = await o.jsm.streams.getMessage(stream, { last_by_subj: subject });
    if (last === null || o.nowMs - last.time.getTime() <= o.orphanAgeMs) continue;
    await o.jsm.streams.purge(stream, { filter: subject });
    stagedUploadsRemoved++;
  }
  return { objectsRemoved, stagedUploadsRemoved };
}

interface MetaRecord {
  /** Where this version of the metadata is in the stream. */
  readonly seq: number;
  readonly key: string;
  readonly uploadId: string;
  readonly digest: string;
  readonly storedAtUnixMs: number;
}

async function readMetas(
  nc: NatsConnection,
  jsm: JetStreamManager,
  stream: string,
  filter: string,
): Promise<MetaRecord[]> {
  const name = `bsfg_sweep_${nuid.next()}`;
  await jsm.consumers.add(stream, {
    name,
    ack_policy: AckPolicy.None,
    deliver_policy: DeliverPolicy.LastPerSubject,
    filter_subject: filter,
    mem_storage: true,
    inactive_threshold: nanos(60_000),
  });
  const metas: MetaRecord[] = [];
  // One reader across the pulls, tracking delivery sequences: a meta lost between two
  // batches must fail the sweep, not make a live upload look abandoned.
  const reader = { stream, name, after: 0, delivered: 0 };
  try {
    for (;;) {
      const msgs = await pull(nc, reader, { batch: 256, no_wait: true }, 10_000);
      for (const m of msgs) {
        const meta = JSON.parse(new TextDecoder().decode(m.data)) as Omit<MetaRecord, "seq">;
        metas.push({ ...meta, seq: streamSequence(m.reply ?? "") });
      }
      if (msgs.length < 256) return metas;
    }
  } finally {
    await jsm.consumers.delete(stream, name).catch(() => undefined);
  }
}
