import type { JetStreamManager, PubAck } from "@nats-io/jetstream";
import { DomainError } from "../../domain/errors.js";
import type { StoredFact } from "../../domain/fact.js";
import type { ForwardBuffer } from "../../ports/forward-buffer.js";
import { forwardStreamName, forwardSubject } from "./buffer-subjects.js";
import { importedRecord } from "./fact-codec.js";
import { JsCode, jsApiCode, toDomainError } from "./nats-errors.js";
import type { PipelinedPublisher, PipelinedPublishOptions } from "./pipelined-publisher.js";

const SOURCE_ZONE = "Bsfg-Source-Zone";
const SOURCE_OFFSET = "Bsfg-Source-Offset";
const ENCODE_SLICE = 100;

type Message = (i: number) => { data: Uint8Array; options: PipelinedPublishOptions };

/** Unique per fact in its forward stream: the link between a message and the next. */
function chainId(peer: string, fact: StoredFact): string {
  return `${peer}:${fact.offset}`;
}

/** Refused because the stream's last message was not the one expected. */
function brokenChain(error: unknown): boolean {
  const code = jsApiCode(error);
  return code === JsCode.WrongLastSequence || code === JsCode.WrongLastMsgId;
}

export interface JetStreamForwardBufferOptions {
  readonly jetstream: () =>
    | { readonly publisher: PipelinedPublisher; readonly jsm: JetStreamManager }
    | undefined;
  readonly publishTimeoutMs: number;
}

/**
 * Forward buffers on JetStream. Writes to one `forward_<category>` stream go
 * through one queue in this node, and every message of a batch expects the
 * one before it (its sequence and its Nats-Msg-Id), so a batch lands as an
 * exact prefix: a refused or lost message fails every later one of the batch
 * instead of leaving a hole, and only the last needs an acknowledgement. The import
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
    if (facts.length === 0) return;
    const { publisher, jsm } = this.#connected();
    try {
      const base = this.#lastSeq.get(stream) ?? (await jsm.streams.info(stream)).state.last_seq;
      const subject = forwardSubject(category, peer);
      // Each id is written twice: as its own message's id and as the next one's expectation.
      const ids = facts.map((fact) => chainId(peer, fact));
      const message: Message = (i) => {
        const fact = facts[i] as StoredFact;
        return {
          data: importedRecord(fact),
          options: {
            headers: { [SOURCE_ZONE]: peer, [SOURCE_OFFSET]: String(fact.offset) },
            timeoutMs: this.#o.publishTimeoutMs,
            expectLastSequence: base + i,
            msgId: ids[i] as string,
            // The stream's last message must be this batch's previous one: a
            // refused message breaks the chain even if another writer's message
            // takes its place in the sequence.
            expectLastMsgId: i > 0 ? ids[i - 1] : undefined,
          },
        };
      };
      // So the last message is stored only if every one before it is: its
      // acknowledgement is the batch's, and the others go unacknowledged.
      const end = facts.length - 1;
      for (let i = 0; i < end; i++) {
        // A batch is encoded in slices with I/O between them: the receiver's
        // read-ahead request (and anything else waiting on this event loop)
        // goes out while the batch is stored instead of after it.
        if (i > 0 && i % ENCODE_SLICE === 0) await new Promise((resolve) => setImmediate(resolve));
        const { data, options } = message(i);
        publisher.publishUnacknowledged(subject, data, options);
      }
      const { data, options } = message(end);
      let ack: PubAck;
      try {
        ack = await publisher.publish(subject, data, options);
      } catch (error) {
        if (!brokenChain(error)) throw error;
        throw await this.#whyRefused(stream, subject, base, facts.length, message);
      }
      // A duplicate: an earlier attempt stored it, and with it the whole chain
      // before it, but the stream's head is not where this batch put it.
      if (ack.duplicate) this.#lastSeq.delete(stream);
      else this.#lastSeq.set(stream, base + facts.length);
    } catch (error) {
      this.#lastSeq.delete(stream);
      throw toDomainError(error, "forward buffer");
    }
  }

  /**
   * A message before the batch's last was refused, and refusals without a
   * reply subject are silent. The first fact that did not land is sent
   * again, acknowledged and chained to what did, and JetStream's answer says
   * why (full, too large); stored this time, it just extends the prefix that
   * landed. If the stream's head is not this batch's, nothing is stored.
   */
  async #whyRefused(
    stream: string,
    subject: string,
    base: number,
    count: number,
    message: Message,
  ): Promise<DomainError> {
    const underfoot = new DomainError(
      "unavailable",
      `forward buffer ${stream} moved underfoot; the batch will be retried`,
    );
    const { publisher, jsm } = this.#connected();
    const landed = (await jsm.streams.info(stream)).state.last_seq - base;
    if (landed < 0 || landed >= count) return underfoot;
    const { data, options } = message(landed);
    try {
      await publisher.publish(subject, data, options);
    } catch (error) {
      return brokenChain(error) ? underfoot : toDomainError(error, "forward buffer");
    }
    return new DomainError(
      "unavailable",
      `forward buffer ${stream}: the batch stopped after ${landed + 1} of ${count} facts; the rest will be retried`,
    );
  }

  #connected(): { publisher: PipelinedPublisher; jsm: JetStreamManager } {
    const nats = this.#o.jetstream();
    if (nats === undefined) throw new DomainError("unavailable", "the zone's NATS is not connected");
    return nats;
  }
}
