import { JetStreamApiError, type PubAck } from "@nats-io/jetstream";
import {
  errors as coreErrors,
  createInbox,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  type Subscription,
} from "@nats-io/transport-node";
import { type HeaderFields, headerBlock } from "./header-block.js";

export type UnacknowledgedPublishOptions = Omit<PipelinedPublishOptions, "timeoutMs">;

export interface PipelinedPublishOptions extends HeaderFields {
  readonly timeoutMs: number;
}

interface Waiting {
  readonly resolve: (ack: PubAck) => void;
  readonly reject: (error: Error) => void;
  readonly deadline: number;
}

const SWEEP_MS = 200;

/**
 * JetStream publishes with their acknowledgements collected on one wildcard
 * inbox subscription. nats.js's `js.publish` makes a request object, a timer
 * and a cancellation Error per message (profiled: ~40 % of a node's CPU
 * while it stores a backlog); here a publish costs one pending entry, and
 * deadlines are swept by one timer. Errors are the ones nats.js raises
 * (JetStreamApiError, TimeoutError, NoRespondersError), so callers translate
 * them the same way.
 */
export class PipelinedPublisher {
  readonly #nc: NatsConnection;
  readonly #prefix = createInbox();
  readonly #waiting = new Map<number, Waiting>();
  #subscription: Subscription | undefined;
  #sweeper: ReturnType<typeof setInterval> | undefined;
  #next = 0;
  /** `id` undefined: published without a reply subject, so nothing waits for it. */
  #queue: Array<{ id: number | undefined; subject: string; data: Uint8Array; headers: MsgHdrs }> = [];

  constructor(nc: NatsConnection) {
    this.#nc = nc;
    void nc.closed().then(() => this.#failAll(new coreErrors.ClosedConnectionError()));
  }

  publish(subject: string, data: Uint8Array, options: PipelinedPublishOptions): Promise<PubAck> {
    const headers = encodedHeaders(options);
    const id = this.#next++;
    return new Promise<PubAck>((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject, deadline: Date.now() + options.timeoutMs });
      this.#enqueue(id, subject, data, headers);
    });
  }

  /**
   * A publish without a reply subject, sent in order with the acknowledged
   * ones: JetStream stores it or drops it and says nothing either way. Only
   * for a chain whose outcome an acknowledged publish after it tells: when
   * every message expects the one before it (Nats-Expected-Last-Msg-Id), the
   * last one is stored only if every one before it was. Each acknowledgement is a message the
   * server writes and this process reads and parses, so a batch of 1,000
   * facts costs one instead of 1,000.
   */
  publishUnacknowledged(subject: string, data: Uint8Array, options: UnacknowledgedPublishOptions): void {
    this.#enqueue(undefined, subject, data, encodedHeaders(options));
  }

  #enqueue(id: number | undefined, subject: string, data: Uint8Array, headers: MsgHdrs): void {
    this.#queue.push({ id, subject, data, headers });
    if (this.#queue.length === 1) setImmediate(this.#flush);
  }

  /**
   * Publishes queued since the last turn of the event loop go out together:
   * nats.js writes to its socket once per microtask checkpoint, and each
   * HTTP/2 stream's request resumes in its own checkpoint, so publishing at
   * once would cost one write syscall (and one read at the server) per fact.
   */
  readonly #flush = (): void => {
    const queue = this.#queue;
    this.#queue = [];
    for (const { id, subject, data, headers } of queue) {
      if (id === undefined) {
        try {
          this.#nc.publish(subject, data, { headers });
        } catch {
          // Not stored, like a refusal: the acknowledged publish that ends its chain fails.
        }
        continue;
      }
      // Already failed (connection closed, deadline passed): its caller was told so; do not store it.
      if (!this.#waiting.has(id)) continue;
      try {
        this.#start();
        this.#nc.publish(subject, data, { headers, reply: `${this.#prefix}.${id}` });
      } catch (error) {
        const waiting = this.#waiting.get(id);
        this.#waiting.delete(id);
        waiting?.reject(error as Error);
      }
    }
  };

  #start(): void {
    if (this.#subscription !== undefined) return;
    this.#subscription = this.#nc.subscribe(`${this.#prefix}.*`, {
      // An error ends the subscription (nats.js closes it): start over at the next publish.
      callback: (error, msg) => (error === null ? this.#settle(msg) : this.#failAll(error)),
    });
    this.#sweeper = setInterval(() => this.#sweep(), SWEEP_MS);
    this.#sweeper.unref();
  }

  #settle(msg: Msg): void {
    const id = Number(msg.subject.slice(this.#prefix.length + 1));
    const waiting = this.#waiting.get(id);
    if (waiting === undefined) return; // answered after its deadline
    this.#waiting.delete(id);
    if (msg.headers?.code === 503) {
      waiting.reject(new coreErrors.NoRespondersError(msg.subject));
      return;
    }
    try {
      const ack = msg.json<
        Partial<PubAck> & { error?: { code: number; err_code?: number; description: string } }
      >();
      if (ack.error !== undefined) {
        waiting.reject(new JetStreamApiError({ err_code: 0, ...ack.error }));
      } else if (typeof ack.stream !== "string" || typeof ack.seq !== "number") {
        waiting.reject(new Error("invalid JetStream publish acknowledgement"));
      } else {
        waiting.resolve({ ...(ack as PubAck), duplicate: ack.duplicate === true });
      }
    } catch (error) {
      waiting.reject(error as Error);
    }
  }

  #sweep(): void {
    const now = Date.now();
    let timeout: Error | undefined;
    for (const [id, waiting] of this.#waiting) {
      if (waiting.deadline > now) continue;
      this.#waiting.delete(id);
      timeout ??= new coreErrors.TimeoutError();
      waiting.reject(timeout);
    }
  }

  #failAll(error: Error): void {
    for (const waiting of this.#waiting.values()) waiting.reject(error);
    this.#waiting.clear();
    clearInterval(this.#sweeper);
    this.#sweeper = undefined;
    const subscription = this.#subscription;
    this.#subscription = undefined;
    try {
      subscription?.unsubscribe();
    } catch {
      // Already gone with its connection.
    }
  }
}

/**
 * Headers as nats.js's publish takes them: it only calls `encode()`
 * (nats-core protocol.js), and building a `MsgHdrs` through `headers()`
 * costs a Map, key canonicalisation and validation per set, then a string
 * and an encoding per message: ~6 % of a receiving node's CPU during a drain.
 */
class EncodedHeaders {
  readonly #bytes: Uint8Array;

  constructor(fields: HeaderFields) {
    this.#bytes = headerBlock(fields);
  }

  encode(): Uint8Array {
    return this.#bytes;
  }
}

function encodedHeaders(fields: HeaderFields): MsgHdrs {
  return new EncodedHeaders(fields) as unknown as MsgHdrs;
}
