import { AckPolicy, DeliverPolicy, type JetStreamManager } from "@nats-io/jetstream";
import { createInbox, type Msg, type NatsConnection, nanos, nuid } from "@nats-io/transport-node";
import type { ConsumerSpec } from "../../domain/consumer-policy.js";
import { DomainError } from "../../domain/errors.js";
import type { StoredFact } from "../../domain/fact.js";
import type { FactLog, StoredRecord } from "../../ports/fact-log.js";
import { consumerSource } from "./buffer-subjects.js";
import { decodeFact } from "./fact-codec.js";
import { toDomainError } from "./nats-errors.js";

/** A server-side read position: an ephemeral pull consumer whose next message follows `after`. */
export interface Reader {
  readonly name: string;
  readonly stream: string;
  after: number;
  /**
   * Consumer (delivery) sequence of the last message received through this
   * reader, when the caller tracks it: `pull` then refuses a batch that does
   * not continue right after it (a message lost in transit).
   */
  delivered?: number;
  /**
   * The batch after `after`, pulled in the background once a full batch was
   * handed out (a backlog): the reader asks for it next, and the pull then
   * overlaps the response's encoding, transfer and the reader's own work.
   */
  prefetched?: Prefetched;
}

interface Prefetched {
  readonly msgs: Promise<Msg[]>;
  /** Drops the reader, and the batch with it, if no read comes to take it. */
  readonly expiry: ReturnType<typeof setTimeout>;
}

const READER_IDLE_MS = 120_000;
/** A reader that reads a backlog comes back within milliseconds; one that does not should not hold a batch. */
const PREFETCH_TTL_MS = 5_000;
const NO_WAIT_TIMEOUT_MS = 5_000;
/** Longest silence between two replies of one pull before it is given up as broken. */
const STALL_MS = 5_000;
/**
 * Byte budget of one fetch: a batch of large facts stops here instead of at
 * its count (1000 facts of 64 KiB would be a 64 MiB response held in both
 * nodes). A single fact larger than the budget still comes, alone.
 */
export const FETCH_MAX_BYTES = 4 * 1024 * 1024;

/**
 * Reads buffers in offset order for named consumers. The durable cursor lives
 * elsewhere (KvCursorStore); JetStream is only asked "what follows offset N",
 * through a cached ephemeral consumer (ack none) positioned right after the
 * last fact handed out. A fetch that does not continue from there (a repeat
 * after no confirm, a restart) gets a fresh consumer at cursor+1, so the
 * late, out-of-order redeliveries of ack-based consumers never happen.
 */
export class JetStreamFactLog implements FactLog {
  readonly #nats: () => { readonly nc: NatsConnection; readonly jsm: JetStreamManager } | undefined;
  readonly #readers = new Map<string, Reader>();
  readonly #locks = new Map<string, Promise<unknown>>();

  readonly #prefetchTtlMs: number;

  constructor(
    nats: () => { readonly nc: NatsConnection; readonly jsm: JetStreamManager } | undefined,
    options: { readonly prefetchTtlMs?: number } = {},
  ) {
    this.#nats = nats;
    this.#prefetchTtlMs = options.prefetchTtlMs ?? PREFETCH_TTL_MS;
  }

  async read(
    consumer: ConsumerSpec,
    after: number,
    limit: number,
    waitMs: number,
    signal?: AbortSignal,
  ): Promise<StoredFact[]> {
    return (await this.#readMsgs(consumer, after, limit, waitMs, signal)).map(toStoredFact);
  }

  async readRecords(
    consumer: ConsumerSpec,
    after: number,
    limit: number,
    waitMs: number,
    signal?: AbortSignal,
  ): Promise<StoredRecord[]> {
    return (await this.#readMsgs(consumer, after, limit, waitMs, signal)).map((m) => ({
      offset: streamSequence(m.reply ?? ""),
      bytes: m.data,
    }));
  }

  #readMsgs(
    consumer: ConsumerSpec,
    after: number,
    limit: number,
    waitMs: number,
    signal: AbortSignal | undefined,
  ): Promise<Msg[]> {
    return this.#serialised(consumer.name, async () => {
      try {
        return await this.#read(consumer, after, limit, waitMs, signal);
      } catch (error) {
        // Whatever went wrong, the server-side position is no longer trusted.
        await this.#drop(consumer.name);
        throw toDomainError(error, "fetch");
      }
    });
  }

  async head(consumer: ConsumerSpec): Promise<number> {
    const { jsm } = this.#connected();
    try {
      return (await jsm.streams.info(consumerSource(consumer).stream)).state.last_seq;
    } catch (error) {
      throw toDomainError(error, "buffer head");
    }
  }

  async #read(
    consumer: ConsumerSpec,
    after: number,
    limit: number,
    waitMs: number,
    signal: AbortSignal | undefined,
  ): Promise<Msg[]> {
    const { nc, jsm } = this.#connected();
    let reader = this.#readers.get(consumer.name);
    if (reader === undefined || reader.after !== after) reader = await this.#reposition(jsm, consumer, after);
    let msgs = await takePrefetched(reader, limit);
    if (msgs === "reposition") reader = await this.#reposition(jsm, consumer, after);
    if (msgs === "reposition" || msgs === undefined) {
      msgs = await pullSome(nc, reader, limit, waitMs, signal);
      if (isAborted(signal)) {
        // A parked pull may still deliver to nobody: forget the server-side position.
        await this.#drop(consumer.name);
        return [];
      }
    }
    const last = msgs.at(-1);
    if (last !== undefined) reader.after = streamSequence(last.reply ?? "");
    if (msgs.length >= limit && limit > 1) {
      const msgs = pullSome(nc, reader, limit);
      // A failed prefetch repositions the reader when the next read takes it; never an unhandled rejection.
      msgs.catch(() => undefined);
      const expiry = setTimeout(() => void this.#expire(consumer.name, prefetched), this.#prefetchTtlMs);
      expiry.unref();
      const prefetched: Prefetched = { msgs, expiry };
      reader.prefetched = prefetched;
    }
    return msgs;
  }

  #expire(name: string, prefetched: Prefetched): Promise<void> {
    return this.#serialised(name, async () => {
      if (this.#readers.get(name)?.prefetched === prefetched) await this.#drop(name);
    });
  }

  /** A fresh server-side reader whose next message follows `after`, replacing the consumer's old one. */
  async #reposition(jsm: JetStreamManager, consumer: ConsumerSpec, after: number): Promise<Reader> {
    await this.#drop(consumer.name);
    const reader = await this.#open(jsm, consumer, after);
    this.#readers.set(consumer.name, reader);
    return reader;
  }

  async #open(jsm: JetStreamManager, consumer: ConsumerSpec, after: number): Promise<Reader> {
    const { stream, filter } = consumerSource(consumer);
    const info = await jsm.consumers.add(stream, {
      name: `bsfg_read_${nuid.next()}`,
      ack_policy: AckPolicy.None,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: after + 1,
      filter_subject: filter,
      mem_storage: true,
      inactive_threshold: nanos(READER_IDLE_MS),
    });
    return { name: info.name, stream, after, delivered: 0 };
  }

  async #drop(name: string): Promise<void> {
    const reader = this.#readers.get(name);
    if (reader === undefined) return;
    this.#readers.delete(name);
    // Let a background pull end before its consumer goes, so it fails quietly rather than stalls.
    if (reader.prefetched !== undefined) {
      clearTimeout(reader.prefetched.expiry);
      await reader.prefetched.msgs.catch(() => undefined);
    }
    const jsm = this.#nats()?.jsm;
    // Best effort: an undeleted reader expires by itself after READER_IDLE_MS.
    await jsm?.consumers.delete(reader.stream, reader.name).catch(() => undefined);
  }

  #connected(): { nc: NatsConnection; jsm: JetStreamManager } {
    const nats = this.#nats();
    if (nats === undefined || nats.nc.isClosed()) {
      throw new DomainError("unavailable", "the zone's NATS is not connected; retry later");
    }
    return nats;
  }

  async #serialised<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#locks.get(key) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.#locks.set(key, tail);
    try {
      return await run;
    } finally {
      if (this.#locks.get(key) === tail) this.#locks.delete(key);
    }
  }
}

/**
 * The reader's background batch, if it has one: its messages, or
 * "reposition" when they cannot be handed out (the pull failed, or this read
 * asks for fewer) and the server-side position is no longer where the read
 * starts. Undefined when there is none or it came back empty.
 */
async function takePrefetched(reader: Reader, limit: number): Promise<Msg[] | "reposition" | undefined> {
  const prefetched = reader.prefetched;
  if (prefetched === undefined) return undefined;
  delete reader.prefetched;
  clearTimeout(prefetched.expiry);
  try {
    const msgs = await prefetched.msgs;
    if (msgs.length === 0) return undefined;
    return msgs.length <= limit ? msgs : "reposition";
  } catch {
    return "reposition";
  }
}

type PullRequest = { batch: number; no_wait: true; expires?: number; max_bytes?: number };

/**
 * What is there now, up to `limit` facts and FETCH_MAX_BYTES; at least one
 * fact when any exists. With `waitMs`, the same single request long-polls:
 * nats-server holds a no_wait pull that has an expiry until its first
 * message, then ends it (408) once nothing more is pending. One request
 * instead of three (look, wait for one, take the rest) saves two JetStream
 * round trips, and the wake-ups of both processes, on every read of a
 * caught-up consumer.
 */
async function pullSome(
  nc: NatsConnection,
  reader: Reader,
  limit: number,
  waitMs = 0,
  signal?: AbortSignal,
): Promise<Msg[]> {
  const ended = { byBudget: false };
  const msgs = await pull(
    nc,
    reader,
    {
      batch: limit,
      no_wait: true,
      max_bytes: FETCH_MAX_BYTES,
      ...(waitMs > 0 ? { expires: nanos(waitMs) } : {}),
    },
    waitMs + NO_WAIT_TIMEOUT_MS,
    signal,
    ended,
  );
  if (msgs.length > 0 || !ended.byBudget) return msgs;
  // The first fact alone is over the budget: it comes by itself.
  return pull(nc, reader, { batch: 1, no_wait: true }, NO_WAIT_TIMEOUT_MS);
}

/**
 * One JetStream pull request ($JS.API.CONSUMER.MSG.NEXT). nats.js's fetch
 * cannot express "what is available now" (no no_wait, expires ≥ 1 s), which
 * FetchFacts needs to answer at once. Ends at `batch` messages or at the
 * server's status reply (404 no messages, 408 expired).
 *
 * Our consumers do not ack, so the server counts a message as delivered when
 * it sends it: one lost on the way (a NATS connection blip or a server crash
 * mid-batch) is never sent again. So this never returns a partial or gapped
 * batch: it throws when no first reply comes within `timeoutMs`, when the
 * batch stalls for STALL_MS between two replies (the status reply that would
 * end it may be lost too), when the subscription ends before the batch does
 * (connection closed), or when the delivery sequences skip. Callers must then
 * discard the consumer.
 */
export async function pull(
  nc: NatsConnection,
  reader: Reader,
  request: PullRequest,
  timeoutMs: number,
  /** Ends the pull early; it then returns what arrived without checking completeness. */
  signal?: AbortSignal,
  /** Set when the request's max_bytes ended the batch. */
  ended?: { byBudget: boolean },
): Promise<Msg[]> {
  // An abort listener added now would never fire: the request would wait out its expiry for nobody.
  if (isAborted(signal)) return [];
  const inbox = createInbox();
  const sub = nc.subscribe(inbox);
  const abort = () => sub.unsubscribe();
  signal?.addEventListener("abort", abort, { once: true });
  let stalled = false;
  // One timer per pull that re-checks a moving deadline, not one per message (a batch is 1,000).
  let deadline = Date.now() + timeoutMs;
  const check = () => {
    const left = deadline - Date.now();
    if (left > 0) {
      timer = setTimeout(check, left);
      return;
    }
    stalled = true;
    sub.unsubscribe();
  };
  let timer = setTimeout(check, timeoutMs);
  nc.publish(`$JS.API.CONSUMER.MSG.NEXT.${reader.stream}.${reader.name}`, JSON.stringify(request), {
    reply: inbox,
  });
  const msgs: Msg[] = [];
  let delivered = reader.delivered;
  let complete = false;
  try {
    for await (const m of sub) {
      deadline = Date.now() + STALL_MS;
      // Status replies carry no payload. A stored fact's headers would be parsed on access
      // (nats.js decodes them lazily): a Map and strings per fact for nothing.
      const code = m.data.length === 0 ? (m.headers?.code ?? 0) : 0;
      // 404/408: nothing (more) now; 409 MaxBytes: the byte budget ended the batch.
      if (code === 409 && /max ?bytes/i.test(m.headers?.description ?? "")) {
        if (ended !== undefined) ended.byBudget = true;
        complete = true;
        break;
      }
      if (code === 404 || code === 408) {
        complete = true;
        break;
      }
      if (code === 100) continue;
      if (code >= 400)
        throw new DomainError(
          "unavailable",
          `fetch: JetStream answered ${code} ${m.headers?.description ?? ""}`,
        );
      const dseq = deliverySequence(m.reply ?? "");
      if (delivered === undefined) delivered = dseq - 1;
      if (dseq !== delivered + 1) {
        throw new DomainError(
          "unavailable",
          `fetch: JetStream delivery ${dseq} follows ${delivered}; messages were lost in transit`,
        );
      }
      delivered = dseq;
      msgs.push(m);
      if (msgs.length >= request.batch) {
        complete = true;
        break;
      }
    }
  } finally {
    signal?.removeEventListener("abort", abort);
    clearTimeout(timer);
    sub.unsubscribe();
  }
  // Read through a call: the iteration above is what may have aborted it.
  if (isAborted(signal)) return msgs;
  if (!complete) {
    // Stalled, or the subscription ended with the connection: the rest may be lost.
    throw new DomainError(
      "unavailable",
      msgs.length === 0 && stalled
        ? "fetch: JetStream did not answer in time"
        : `fetch: JetStream stopped answering after ${msgs.length} of up to ${request.batch} messages`,
    );
  }
  if (reader.delivered !== undefined && delivered !== undefined) reader.delivered = delivered;
  return msgs;
}

function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

function toStoredFact(m: Msg): StoredFact {
  return { ...decodeFact(m.data), offset: streamSequence(m.reply ?? "") };
}

/** The stream sequence from a JetStream delivery subject (both the 9- and 12-token forms). */
export function streamSequence(reply: string): number {
  return ackToken(reply, 5);
}

/** The consumer's delivery sequence from a JetStream delivery subject: contiguous for a consumer that never redelivers. */
export function deliverySequence(reply: string): number {
  return ackToken(reply, 6);
}

// $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<dseq>.<ts>.<pending>, or with <domain>.<account hash>
// after ACK (and possibly more tokens at the end), as nats.js parses it. Read in place, without
// splitting or slicing: it runs twice for every fact handed out, and the garbage of an array and a
// substring each time was ~0.5 KB per fact (V8's sampling heap profiler, through a drain).
function ackToken(reply: string, index: number): number {
  let tokens = 1;
  for (let at = reply.indexOf("."); at >= 0; at = reply.indexOf(".", at + 1)) tokens++;
  const i = tokens === 9 ? index : index + 2;
  if (!reply.startsWith("$JS.ACK.") || (tokens !== 9 && tokens < 11)) throw badDeliverySubject(reply);
  let at = 0;
  for (let dot = 0; dot < i; dot++) at = reply.indexOf(".", at) + 1;
  let n = 0;
  let end = at;
  for (; end < reply.length; end++) {
    const c = reply.charCodeAt(end);
    if (c === DOT) break;
    if (c < ZERO || c > NINE) throw badDeliverySubject(reply);
    n = n * 10 + (c - ZERO);
  }
  if (end === at || !Number.isSafeInteger(n)) throw badDeliverySubject(reply);
  return n;
}

const DOT = 46;
const ZERO = 48;
const NINE = 57;

function badDeliverySubject(reply: string): DomainError {
  return new DomainError("internal", `unexpected JetStream delivery subject "${reply}"`);
}
