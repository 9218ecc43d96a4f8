import type { KV, KvEntry } from "@nats-io/kv";
import { DomainError } from "../../domain/errors.js";
import type { ReferenceRegistry } from "../../ports/reference-registry.js";
import { compareAndSet, isCasFailure } from "./kv-compare-and-set.js";
import { toDomainError } from "./nats-errors.js";
import { type RemovalMark, referenceKey } from "./orphan-sweeper.js";

export const REFERENCE_BUCKET = "bsfg_object_refs";

const decoder = new TextDecoder();
const REMOVING = "removing:";
/**
 * A removal mark older than this was left by a sweep that died between
 * marking and unmarking (its purges take milliseconds): a hold may take the
 * key over again, and the object is then judged by whether it still exists.
 */
const STALE_MARK_MS = 5 * 60_000;

type Hold =
  | { readonly kind: "hold"; readonly until: number }
  | { readonly kind: "removing"; readonly at: number };

/**
 * Reference holds in a KV bucket: per object, the time until which some
 * retained fact references it. Holds only grow, by compare-and-set on the
 * key's revision. The orphan sweep writes a removal mark on the same key,
 * by the same compare-and-set, before it deletes an object: a reference
 * taken before the mark makes the sweep skip the object, and one that comes
 * after it is refused until the object is gone, so no fact is ever accepted
 * that references an object being deleted.
 */
export class KvReferenceRegistry implements ReferenceRegistry {
  readonly #kv: () => KV | undefined;

  constructor(
    kv: () => KV | undefined,
    /** How long a new reference keeps an object: the longest fact retention (0 = forever). */
    private readonly holdMs: number,
    private readonly now: () => number,
  ) {
    this.#kv = kv;
  }

  async hold(bucket: string, key: string): Promise<void> {
    const until = this.holdMs === 0 ? Number.MAX_SAFE_INTEGER : this.now() + this.holdMs;
    await compareAndSet(this.#bucket(), referenceKey(bucket, key), "reference hold", (entry) => {
      const current = parse(entry);
      if (current?.kind === "removing" && this.now() - current.at < STALE_MARK_MS) {
        throw new DomainError(
          "unavailable",
          `artifact ${bucket}/${key} is being removed as an orphan right now; retry, and PutObject it again if it is gone`,
        );
      }
      if (current?.kind === "hold" && current.until >= until) return undefined;
      return String(until);
    });
  }

  /**
   * Marks the object as being removed, unless a retained fact references it
   * (its hold has not passed). Returns the mark to clear once it is gone, or
   * undefined when it must stay — also when a reference raced the mark in.
   */
  async markRemoval(referenceKeyValue: string): Promise<RemovalMark | undefined> {
    const kv = this.#bucket();
    try {
      const entry = await kv.get(referenceKeyValue);
      const current = parse(entry);
      if (current?.kind === "hold" && current.until >= this.now()) return undefined;
      const mark = `${REMOVING}${this.now()}`;
      const revision =
        entry === null
          ? await kv.create(referenceKeyValue, mark)
          : await kv.update(referenceKeyValue, mark, entry.revision);
      return { key: referenceKeyValue, revision };
    } catch (error) {
      if (isCasFailure(error)) return undefined;
      throw toDomainError(error, "orphan mark");
    }
  }

  /** Clears a mark once its object is deleted, so the key may be put and referenced again. */
  async clearRemoval(mark: RemovalMark): Promise<void> {
    try {
      await this.#bucket().delete(mark.key, { previousSeq: mark.revision });
    } catch (error) {
      // Someone took the key over (a hold after a stale mark): theirs stands.
      if (isCasFailure(error)) return;
      throw toDomainError(error, "orphan mark");
    }
  }

  #bucket(): KV {
    const kv = this.#kv();
    if (kv === undefined)
      throw new DomainError("unavailable", "reference holds: the zone's NATS is not connected");
    return kv;
  }
}

function parse(entry: KvEntry | null): Hold | undefined {
  if (entry === null || entry.operation !== "PUT") return undefined;
  const text = decoder.decode(entry.value);
  if (text.startsWith(REMOVING)) return { kind: "removing", at: Number(text.slice(REMOVING.length)) };
  return { kind: "hold", until: Number(text) };
}
