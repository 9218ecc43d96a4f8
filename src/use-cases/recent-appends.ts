import { type DomainError, isDomainError } from "../domain/errors.js";
import type { FactRecord } from "../domain/fact.js";
import type { Clock } from "../ports/clock.js";
import type { ExistingOutcome, StoreBuffer, StoreOutcome } from "../ports/store-buffer.js";

export interface RecentAppendsOptions {
  /** Categories whose message_ids are unique for the facts' whole retention (index mode). */
  readonly remembers: (category: string) => boolean;
  readonly clock: Clock;
  /** How long an answer is reused: far below any retention, so the fact it names is still stored. */
  readonly ttlMs: number;
  readonly capacity: number;
}

interface Remembered extends ExistingOutcome {
  readonly atMs: number;
  /** Its place in the eviction ring: the count of ids remembered before it. */
  readonly seq: number;
}

/**
 * A store buffer that answers a producer's retry of a recent append from
 * memory: where and with which digest the message_id is stored is durable,
 * immutable JetStream state once acknowledged, so the retry's claim, refusal
 * and read (two NATS round trips, half of a retried append's cost) tell
 * nothing new. Only what the store acknowledged or found is remembered, for
 * `ttlMs`, the newest `capacity` ids; everything else goes to the store.
 * The use case still compares digests, so a conflicting retry is refused
 * exactly as before.
 */
export class RecentAppends implements StoreBuffer {
  readonly #store: StoreBuffer;
  readonly #o: RecentAppendsOptions;
  readonly #byId = new Map<string, Remembered>();
  /**
   * The last `capacity` ids remembered, oldest next to be overwritten. Not the
   * Map's own insertion order: its oldest key is found by iterating from the
   * front, which skips every entry deleted since the table was last rebuilt
   * (up to `capacity` of them); at 16,384 that was 6–7 µs per first append.
   */
  readonly #ring: string[] = [];
  #remembered = 0;

  constructor(store: StoreBuffer, options: RecentAppendsOptions) {
    this.#store = store;
    this.#o = options;
  }

  fillPercent(category: string): number {
    return this.#store.fillPercent(category);
  }

  async append(records: readonly FactRecord[]): Promise<Array<StoreOutcome | DomainError>> {
    const now = this.#o.clock.nowMs();
    const results: Array<StoreOutcome | DomainError | undefined> = records.map((r) => this.#recall(r, now));
    const misses = records.filter((_, i) => results[i] === undefined);
    if (misses.length === 0) return results as Array<StoreOutcome | DomainError>;
    const stored = await this.#store.append(misses);
    let next = 0;
    return results.map((known, i) => {
      if (known !== undefined) return known;
      const outcome = stored[next++] as StoreOutcome | DomainError;
      this.#remember(records[i] as FactRecord, outcome, now);
      return outcome;
    });
  }

  #recall(record: FactRecord, now: number): ExistingOutcome | undefined {
    const id = record.envelope.messageId;
    const known = this.#byId.get(id);
    if (known === undefined) return undefined;
    if (now - known.atMs > this.#o.ttlMs) {
      this.#byId.delete(id);
      return undefined;
    }
    return { kind: "existing", offset: known.offset, category: known.category, digest: known.digest };
  }

  #remember(record: FactRecord, outcome: StoreOutcome | DomainError, now: number): void {
    if (isDomainError(outcome) || !this.#o.remembers(record.category)) return;
    const stored = outcome.kind === "stored";
    const offset = outcome.offset;
    const category = stored ? record.category : outcome.category;
    const digest = stored ? record.digest : outcome.digest;
    // Still in flight (no offset yet), or aged out of its stream (no digest): nothing durable to reuse.
    if (offset === 0 || digest === "") return;
    const id = record.envelope.messageId;
    const seq = this.#remembered++;
    const slot = seq % this.#o.capacity;
    const evicted = this.#ring[slot];
    // The evicted id may have been forgotten and remembered again since: only its entry of that turn goes.
    if (evicted !== undefined && this.#byId.get(evicted)?.seq === seq - this.#o.capacity)
      this.#byId.delete(evicted);
    this.#ring[slot] = id;
    this.#byId.set(id, { kind: "existing", offset, category, digest, atMs: now, seq });
  }
}
