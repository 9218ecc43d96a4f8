import type { JetStreamManager } from "@nats-io/jetstream";
import { DomainError } from "../../domain/errors.js";
import type { StoredFact } from "../../domain/fact.js";
import type { Clock } from "../../ports/clock.js";
import type { ForwardBuffer } from "../../ports/forward-buffer.js";
import { forwardStreamName, forwardSubject } from "./buffer-subjects.js";
import { encodeImported } from "./fact-codec.js";
import { JsCode, jsApiCode, toDomainError } from "./nats-errors.js";
import type { PipelinedPublisher } from "./pipelined-publisher.js";

const SOURCE_ZONE = "Bsfg-Source-Zone";
const SOURCE_OFFSET = "Bsfg-Source-Offset";
const ENCODE_SLICE = 100;

export interface JetStreamForwardBufferOptions {
  readonly jetstream: () =>
    | { readonly publisher: PipelinedPublisher; readonly jsm: JetStreamManager }
    | undefined;
  readonly clock: Clock;
  readonly publishTimeoutMs: number;
}

/**
 * Forward buffers on JetStream. Writes to one `forward_<category>` stream go
 * through one queue in this node and every message carries the stream's
 * expected last sequence, so a batch lands as an exact prefix: a lost publish
 * fails every later one of the batch instead of leaving a hole. The import
 * high-water mark is the source offset on the last message of the peer's
 * subject: one subject per (category, peer), no per-fact index.
 */
export class JetStreamForwardBuffer implements ForwardBuffer {
  readonly #o: JetStreamForwardBufferOptions;
  readonly #lastSeq = new Map<string, number>();
  readonly #queues = new Map<string, Promise<unknown>>();

  constructor(options: JetStreamForwardBufferOptions) {
    this.#o = options;
  }

  async highWaterMark(peer: string, category: string): Promise<number> {
    const { jsm } = this.#connected();
    try {
      const last = await jsm.streams.getMessage(forwardStreamName(category), {
        last_by_subj: forwardSubject(category, peer),
      });
      return last === null ? 0 : Number(last.header.get(SOURCE_OFFSET));
    } catch (error) {
      throw toDomainError(error, "forward buffer");
    }
  }

  append(peer: string, category: string, facts: readonly StoredFact[]): Promise<void> {
    const stream = forwardStreamName(category);
    const run = (this.#queues.get(stream) ?? Promise.resolve()).then(() =>
      this.#write(stream, peer, category, facts),
    );
    this.#queues.set(
      stream,
      run.catch(() => undefined),
    );
    return run;
  }

  async #write(stream: string, peer: string, category: string, facts: readonly StoredFact[]): Promise<void> {
    const { publisher, jsm } = this.#connected();
    try {
      let last = this.#lastSeq.get(stream);
      if (last === undefined) {
        last = (await jsm.streams.info(stream)).state.last_seq;
      }
      const subject = forwardSubject(category, peer);
      const now = this.#o.clock.nowMs();
      const acks: Array<Promise<unknown>> = [];
      for (let i = 0; i < facts.length; i++) {
        // A batch is encoded in slices with I/O between them: the receiver's
        // read-ahead request (and anything else waiting on this event loop)
        // goes out while the batch is stored instead of after it.
        if (i > 0 && i % ENCODE_SLICE === 0) await new Promise((resolve) => setImmediate(resolve));
        const fact = facts[i] as StoredFact;
        acks.push(
          publisher.publish(subject, encodeImported(fact, peer, now), {
            headers: { [SOURCE_ZONE]: peer, [SOURCE_OFFSET]: String(fact.offset) },
            timeoutMs: this.#o.publishTimeoutMs,
            expectLastSequence: last + i,
          }),
        );
      }
      const settled = await Promise.allSettled(acks);
      const failed = settled.find((s) => s.status === "rejected");
      if (failed !== undefined) {
        this.#lastSeq.delete(stream);
        const reason = (failed as PromiseRejectedResult).reason;
        if (jsApiCode(reason) === JsCode.WrongLastSequence) {
          throw new DomainError(
            "unavailable",
            `forward buffer ${stream} moved underfoot; the batch will be retried`,
          );
        }
        throw toDomainError(reason, "forward buffer");
      }
      this.#lastSeq.set(stream, last + facts.length);
    } catch (error) {
      this.#lastSeq.delete(stream);
      throw toDomainError(error, "forward buffer");
    }
  }

  #connected(): { publisher: PipelinedPublisher; jsm: JetStreamManager } {
    const nats = this.#o.jetstream();
    if (nats === undefined) throw new DomainError("unavailable", "the zone's NATS is not connected");
    return nats;
  }
}
