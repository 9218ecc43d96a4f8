import type { DomainError } from "../domain/errors.js";
import type { FactRecord } from "../domain/fact.js";

/** The record was written by this call at `offset`. */
export interface StoredOutcome {
  readonly kind: "stored";
  readonly offset: number;
}

/**
 * The message_id was already taken inside the idempotency horizon. `offset` is
 * 0 when the earlier write is still in flight (its fact not yet stored).
 */
export interface ExistingOutcome {
  readonly kind: "existing";
  readonly offset: number;
  readonly category: string;
  readonly digest: string;
}

export type StoreOutcome = StoredOutcome | ExistingOutcome;

/**
 * The zone's store buffers (`facts_<category>`): where local producers' facts
 * wait for peers to pull them.
 */
export interface StoreBuffer {
  /**
   * Durably writes each record unless its message_id already exists, and
   * answers only after the substrate acknowledged every write. Results come
   * in input order; records of one category get increasing offsets in input
   * order. A failing record yields a DomainError in its slot
   * (`unavailable`, `back_pressure` when the buffer refuses for space,
   * `too_large`, `internal`) and never leaves a partial write behind.
   */
  append(records: readonly FactRecord[]): Promise<Array<StoreOutcome | DomainError>>;

  /** Fill of the category's buffer in percent of its size budget, from a recent sample. */
  fillPercent(category: string): number;
}
