import type { KV } from "@nats-io/kv";
import type { ReferenceRegistry } from "../../ports/reference-registry.js";
import { KvCursorStore } from "./kv-cursor-store.js";
import { referenceKey } from "./orphan-sweeper.js";

export const REFERENCE_BUCKET = "bsfg_object_refs";

/**
 * Reference holds in a KV bucket: per object, the time until which some
 * retained fact references it. Holds only grow, with the same compare-and-set
 * as consumer cursors.
 */
export class KvReferenceRegistry implements ReferenceRegistry {
  readonly #holds: KvCursorStore;

  constructor(
    kv: () => KV | undefined,
    /** How long a new reference keeps an object: the longest fact retention (0 = forever). */
    private readonly holdMs: number,
    private readonly now: () => number,
  ) {
    this.#holds = new KvCursorStore(kv);
  }

  async hold(bucket: string, key: string): Promise<void> {
    const until = this.holdMs === 0 ? Number.MAX_SAFE_INTEGER : this.now() + this.holdMs;
    await this.#holds.advance(referenceKey(bucket, key), until);
  }

  heldUntil(referenceKeyValue: string): Promise<number> {
    return this.#holds.get(referenceKeyValue);
  }
}
