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
  readonly #waiting: Array<{ readonly n: number; readonly grant: () => void }> = [];
  readonly #onQueued: (facts: number) => void;
  #queued = 0;

  /** `onQueued` hears how many facts wait, each time that changes. */
  constructor(capacity: number, onQueued: (facts: number) => void = () => undefined) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError("capacity: a positive integer");
    this.#capacity = capacity;
    this.#available = capacity;
    this.#onQueued = onQueued;
  }

  /** Waits for `n` permits (at most the capacity); resolves with how many to release. */
  acquire(n: number): Promise<number> {
    const want = Math.min(Math.max(n, 0), this.#capacity);
    // Queue behind earlier waiters even when permits are free: a big batch is never starved by small ones.
    if (this.#waiting.length === 0 && want <= this.#available) {
      this.#available -= want;
      return Promise.resolve(want);
    }
    return new Promise((resolve) => {
      this.#waiting.push({ n: want, grant: () => resolve(want) });
      this.#queue(want);
    });
  }

  release(n: number): void {
    this.#available += n;
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
