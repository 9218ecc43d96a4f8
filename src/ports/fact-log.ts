import type { ConsumerSpec } from "../domain/consumer-policy.js";
import type { StoredFact } from "../domain/fact.js";

/** A fact in its stored encoding (adapter-defined bytes), with its offset. */
export interface StoredRecord {
  readonly offset: number;
  readonly bytes: Uint8Array;
}

/**
 * Read access to the buffers in offset order, as seen through a named
 * consumer's filter (a peer consumer sees only facts addressed to its zone).
 */
export interface FactLog {
  /**
   * Up to `limit` facts with offset > `after`, ascending, with no gaps in
   * what the filter admits. When none exists yet, waits up to `waitMs` and
   * returns as soon as one arrives (or an empty list, also when `signal`
   * aborts the wait). Throws `unavailable`.
   */
  read(
    consumer: ConsumerSpec,
    after: number,
    limit: number,
    waitMs: number,
    signal?: AbortSignal,
  ): Promise<StoredFact[]>;
  /**
   * The same facts as `read`, undecoded: each as its buffer stores it (peer
   * exchange forwards them as they are, so neither node re-encodes them).
   */
  readRecords(
    consumer: ConsumerSpec,
    after: number,
    limit: number,
    waitMs: number,
    signal?: AbortSignal,
  ): Promise<StoredRecord[]>;
  /** The offset of the last fact stored in the consumer's buffer (any filter); 0 when empty. */
  head(consumer: ConsumerSpec): Promise<number>;
}
