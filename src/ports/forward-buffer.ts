import type { StoredFact } from "../domain/fact.js";

/**
 * The zone's forward buffers (`forward_<category>`): facts imported from
 * peers, which local consumers read.
 */
export interface ForwardBuffer {
  /**
   * The highest source offset already materialised from `peer` for
   * `category` (0 if none), read from durable state.
   */
  highWaterMark(peer: string, category: string): Promise<number>;
  /**
   * Durably stores `facts` (from `peer`, ascending source offsets, all above
   * the high-water mark), keeping source zone and offset, and resolves only
   * when every write is acknowledged. Throws `unavailable`, `back_pressure`,
   * or `precondition_failed` when another writer moved the high-water mark.
   */
  append(peer: string, category: string, facts: readonly StoredFact[]): Promise<void>;
}
