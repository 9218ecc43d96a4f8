import { DomainError } from "../domain/errors.js";

interface Waiter {
  readonly n: number;
  readonly grant: () => void;
}

/**
 * A first-come, first-served budget of facts being stored at once. Each fact
 * in progress holds its own NATS requests, acks and timers, so without a cap
 * many concurrent large batches grow the heap without bound while JetStream
 * answers them no faster. A request larger than the whole budget takes all
 * of it, so every request eventually runs.
 */
export class FactPermits {
  readonly #capacity: number;
  #available: number;
  readonly #waiting: Waiter[] = [];
  readonly #onQueued: (facts: number) => void;
  #queued = 0;

  /** `onQueued` hears how many facts wait, each time that changes. */
  constructor(capacity: number, onQueued: (facts: number) => void = () => undefined) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError("capacity: a positive integer");
    this.#capacity = capacity;
    this.#available = capacity;
    this.#onQueued = onQueued;
  }

  /**
   * Waits for `n` permits (at most the capacity); resolves with how many to
   * release. A caller that goes away while it waits (`signal` aborts) leaves
   * the queue at once with a `cancelled` error, so a client that timed out
   * neither holds back the requests behind it nor gets stored afterwards.
   */
  acquire(n: number, signal?: AbortSignal): Promise<number> {
    const want = Math.min(Math.max(n, 0), this.#capacity);
    if (signal?.aborted === true) return Promise.reject(cancelled());
    // Queue behind earlier waiters even when permits are free: a big batch is never starved by small ones.
    if (this.#waiting.length === 0 && want <= this.#available) {
      this.#available -= want;
      return Promise.resolve(want);
    }
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        const at = this.#waiting.indexOf(waiter);
        if (at < 0) return;
        this.#waiting.splice(at, 1);
        this.#queue(-want);
        reject(cancelled());
        // A large request leaving the head may let smaller ones behind it start.
        this.#grant();
      };
      const waiter: Waiter = {
        n: want,
        grant: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve(want);
        },
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiting.push(waiter);
      this.#queue(want);
    });
  }

  release(n: number): void {
    this.#available += n;
    this.#grant();
  }

  #grant(): void {
    for (;;) {
      const next = this.#waiting[0];
      if (next === undefined || next.n > this.#available) return;
      this.#waiting.shift();
      this.#available -= next.n;
      this.#queue(-next.n);
      next.grant();
    }
  }

  #queue(delta: number): void {
    this.#queued += delta;
    this.#onQueued(this.#queued);
  }

  /** Facts being stored now (for tests and metrics). */
  get inUse(): number {
    return this.#capacity - this.#available;
  }
}

function cancelled(): DomainError {
  return new DomainError(
    "cancelled",
    "the request was cancelled while it waited for append capacity (limits.max_facts_in_flight); nothing was stored",
  );
}
