import type { ConnectError } from "@connectrpc/connect";
import { DomainError } from "../domain/errors.js";
import { toConnectError } from "../rpc/error-mapping.js";

export interface Admission {
  /** The request body, counted against the budget; fails the request once the budget is spent. */
  meter(body: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array>;
  /** The request is over (answered or abandoned): its share goes back. Idempotent. */
  release(): void;
}

export interface RequestBudgetLimits {
  /** Requests in progress across all connections. */
  readonly maxRequests: number;
  /** Request body bytes those requests may hold. */
  readonly maxBytes: number;
  /** The most one request buffers at once (one message), so a long upload is not counted whole. */
  readonly perRequestBytes: number;
}

/**
 * Bounds what requests in progress hold in memory across all connections:
 * how many there are (each costs tens of KiB of stream and handler state)
 * and how many body bytes they buffer. Per-connection limits alone multiply
 * (streams × message size × connections); this is the product's ceiling. A
 * request beyond either limit is answered resource_exhausted (retryable):
 * at once, or as soon as its body crosses the line.
 */
export class RequestBudget {
  readonly #limits: RequestBudgetLimits;
  #requests = 0;
  #bytes = 0;

  constructor(limits: RequestBudgetLimits) {
    this.#limits = limits;
  }

  get requests(): number {
    return this.#requests;
  }

  get bytes(): number {
    return this.#bytes;
  }

  enter(): Admission {
    const limits = this.#limits;
    if (this.#requests >= limits.maxRequests) {
      const refusal = busy(
        `the node already has ${this.#requests} requests in progress, its limit (limits.max_inflight_requests); retry later`,
      );
      return { meter: (body) => refused(body, refusal), release: () => {} };
    }
    this.#requests++;
    let held = 0;
    let released = false;
    const take = (bytes: number): ConnectError | undefined => {
      const add = Math.min(bytes, limits.perRequestBytes - held);
      if (add <= 0 || released) return undefined;
      if (this.#bytes + add > limits.maxBytes) {
        return busy(
          `requests in progress already hold ${this.#bytes} of ${limits.maxBytes} request body bytes (limits.max_inflight_request_bytes); retry later`,
        );
      }
      this.#bytes += add;
      held += add;
      return undefined;
    };
    return {
      meter: (body) => metered(body, take),
      release: () => {
        if (released) return;
        released = true;
        this.#requests--;
        this.#bytes -= held;
        held = 0;
      },
    };
  }
}

async function* metered(
  body: AsyncIterable<Uint8Array>,
  take: (bytes: number) => ConnectError | undefined,
): AsyncIterable<Uint8Array> {
  const chunks = body[Symbol.asyncIterator]();
  for (;;) {
    const next = await chunks.next();
    if (next.done === true) return;
    const refusal = take(next.value.byteLength);
    if (refusal !== undefined) {
      discardRest(chunks);
      throw refusal;
    }
    yield next.value;
  }
}

/** A refused request's body: failed at once, its bytes read and dropped behind the answer. */
// biome-ignore lint/correctness/useYield: the body is never handed on
async function* refused(body: AsyncIterable<Uint8Array>, error: ConnectError): AsyncIterable<Uint8Array> {
  discardRest(body[Symbol.asyncIterator]());
  throw error;
}

/**
 * The refusal is answered at once (a refused upload is not read to its end
 * first), while the rest of the body is read and dropped: a body left unread
 * holds its stream open under flow control, and the client would wait for a
 * window that never comes. The client stops sending when it sees the answer.
 */
function discardRest(chunks: AsyncIterator<Uint8Array>): void {
  void (async () => {
    try {
      while ((await chunks.next()).done !== true);
    } catch {
      // The stream was reset: nothing left to read.
    }
  })();
}

function busy(message: string): ConnectError {
  return toConnectError(new DomainError("back_pressure", message));
}
