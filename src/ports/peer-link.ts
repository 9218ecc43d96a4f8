import type { StoredFact } from "../domain/fact.js";

/** The receiver loop's view of one peer zone's node (FetchFacts/ConfirmReceipt over mTLS). */
export interface PeerLink {
  fetch(
    consumer: string,
    limit: number,
    waitMs: number,
    signal: AbortSignal,
    /** Facts after this offset rather than after the confirmed cursor (pipelining). */
    afterOffset?: number,
  ): Promise<{ facts: StoredFact[]; cursor: number }>;
  confirm(consumer: string, offset: number, signal: AbortSignal): Promise<number>;
  /** An artifact's bytes from `offset` on (GetObject); throws `unavailable` if the link breaks. */
  getObject(bucket: string, key: string, offset: number, signal: AbortSignal): AsyncIterable<Uint8Array>;
}
