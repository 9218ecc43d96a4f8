import type { JetStreamManager, PubAck } from "@nats-io/jetstream";
import { DomainError } from "../../domain/errors.js";
import type { FactRecord } from "../../domain/fact.js";
import type { StoreBuffer, StoreOutcome } from "../../ports/store-buffer.js";
import {
  type CategorySpec,
  factSubject,
  INDEX_STREAM,
  indexSubject,
  storeStreamName,
} from "./category-spec.js";
import { decodeClaim, decodeFact, encodeClaim, encodeFact } from "./fact-codec.js";
import { JsCode, jsApiCode, toDomainError } from "./nats-errors.js";
import type { PipelinedPublisher } from "./pipelined-publisher.js";

export interface JetStreamStoreBufferOptions {
  /** The zone's JetStream, or undefined until the first connection is made. */
  readonly jetstream: () =>
    | { readonly publisher: PipelinedPublisher; readonly jsm: JetStreamManager }
    | undefined;
  readonly categories: readonly CategorySpec[];
  /** PubAck wait; past it the append fails `unavailable` and may be retried. */
  readonly publishTimeoutMs: number;
  /** False while the NATS connection is down, so appends fail fast instead of queueing. */
  readonly isConnected: () => boolean;
  readonly fillPercent: (category: string) => number;
}

const DIGEST_HEADER = "Bsfg-Digest";

/**
 * Store buffers on JetStream. Index-mode categories are idempotent zone-wide
 * for the fact's retention: a claim on `bsfg.index.<id>` (create-if-absent,
 * expected-last-subject-sequence 0) decides who owns a message_id, then the
 * fact is written create-if-absent on its own per-fact subject, so a retry
 * after any crash completes the write exactly once. Window-mode categories
 * rely on Nats-Msg-Id within the stream's duplicate_window.
 */
export class JetStreamStoreBuffer implements StoreBuffer {
  readonly #o: JetStreamStoreBufferOptions;
  readonly #specs: Map<string, CategorySpec>;

  constructor(options: JetStreamStoreBufferOptions) {
    this.#o = options;
    this.#specs = new Map(options.categories.map((c) => [c.name, c]));
  }

  fillPercent(category: string): number {
    return this.#o.fillPercent(category);
  }

  async append(records: readonly FactRecord[]): Promise<Array<StoreOutcome | DomainError>> {
    const jetstream = this.#o.jetstream();
    if (jetstream === undefined || !this.#o.isConnected()) {
      const down = new DomainError("unavailable", "the zone's NATS is unreachable; retry later");
      return records.map(() => down);
    }
    const { publisher, jsm } = jetstream;
    // Claims first (all in flight together), then the facts in input order on
    // the same connection, which JetStream stores in the order it receives them.
    const claims = await Promise.all(records.map((r) => this.#claim(publisher, jsm, r)));
    return Promise.all(
      records.map((record, i) => {
        const claim = claims[i];
        if (claim === "claimed") return this.#writeFact(publisher, jsm, record);
        return claim as StoreOutcome | DomainError;
      }),
    );
  }

  async #claim(
    publisher: PipelinedPublisher,
    jsm: JetStreamManager,
    record: FactRecord,
  ): Promise<"claimed" | StoreOutcome | DomainError> {
    const spec = this.#specs.get(record.category);
    if (spec === undefined)
      return new DomainError("internal", `no store buffer for category ${record.category}`);
    if (spec.dedup === "window") return "claimed";
    const subject = factSubject(spec, record.envelope.toZone, record.subjectKind, record.envelope.messageId);
    const claimSubject = indexSubject(record.envelope.messageId);
    try {
      await publisher.publish(
        claimSubject,
        encodeClaim({ digest: record.digest, category: record.category, subject }),
        { expectLastSubjectSequence: 0, timeoutMs: this.#o.publishTimeoutMs },
      );
      return "claimed";
    } catch (error) {
      if (jsApiCode(error) !== JsCode.WrongLastSequence) return toDomainError(error, "append");
    }
    try {
      // A producer's retry finds its fact where it would have written it: one
      // read decides, as cheap as the append it repeats.
      const here = await this.#storedAt(jsm, spec.name, subject);
      if (here !== null) return here;
      const stored = await jsm.streams.getMessage(INDEX_STREAM, { last_by_subj: claimSubject });
      if (stored === null)
        return new DomainError("unavailable", "append: the message_id index changed underfoot; retry");
      const claim = decodeClaim(stored.data);
      // Same content: finish the write the claimant may not have finished (it
      // may have crashed after claiming); the per-fact create-if-absent makes
      // this safe against a claimant that is merely slow.
      if (claim.digest === record.digest) return "claimed";
      const existing = await jsm.streams.getMessage(storeStreamName(claim.category), {
        last_by_subj: claim.subject,
      });
      return { kind: "existing", offset: existing?.seq ?? 0, category: claim.category, digest: claim.digest };
    } catch (error) {
      return toDomainError(error, "append");
    }
  }

  async #writeFact(
    publisher: PipelinedPublisher,
    jsm: JetStreamManager,
    record: FactRecord,
  ): Promise<StoreOutcome | DomainError> {
    const spec = this.#specs.get(record.category) as CategorySpec;
    const subject = factSubject(spec, record.envelope.toZone, record.subjectKind, record.envelope.messageId);
    let ack: PubAck;
    try {
      ack = await publisher.publish(subject, encodeFact(record), {
        headers: { [DIGEST_HEADER]: record.digest },
        timeoutMs: this.#o.publishTimeoutMs,
        ...(spec.dedup === "index" ? { expectLastSubjectSequence: 0 } : { msgId: record.envelope.messageId }),
      });
    } catch (error) {
      if (jsApiCode(error) !== JsCode.WrongLastSequence) return toDomainError(error, "append");
      return this.#existingOnSubject(jsm, spec, subject);
    }
    if (!ack.duplicate) return { kind: "stored", offset: ack.seq };
    return this.#existingAt(jsm, spec, ack.seq);
  }

  async #existingOnSubject(
    jsm: JetStreamManager,
    spec: CategorySpec,
    subject: string,
  ): Promise<StoreOutcome | DomainError> {
    try {
      const stored = await this.#storedAt(jsm, spec.name, subject);
      return stored ?? new DomainError("unavailable", "append: the stored fact vanished underfoot; retry");
    } catch (error) {
      return toDomainError(error, "append");
    }
  }

  /** The fact stored on `subject` (one per message_id in index mode), or null. */
  async #storedAt(jsm: JetStreamManager, category: string, subject: string): Promise<StoreOutcome | null> {
    const stored = await jsm.streams.getMessage(storeStreamName(category), { last_by_subj: subject });
    if (stored === null) return null;
    // The digest header spares parsing the fact; the JSON is the fallback.
    const digest = stored.header?.get(DIGEST_HEADER) || decodeFact(stored.data).digest;
    return { kind: "existing", offset: stored.seq, category, digest };
  }

  async #existingAt(
    jsm: JetStreamManager,
    spec: CategorySpec,
    seq: number,
  ): Promise<StoreOutcome | DomainError> {
    try {
      const stored = await jsm.streams.getMessage(storeStreamName(spec.name), { seq });
      // The original left the stream (age) while its id was still in the window.
      if (stored === null) return { kind: "existing", offset: seq, category: spec.name, digest: "" };
      return { kind: "existing", offset: seq, category: spec.name, digest: decodeFact(stored.data).digest };
    } catch (error) {
      return toDomainError(error, "append");
    }
  }
}
