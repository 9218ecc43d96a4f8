import type { KV } from "@nats-io/kv";
import { DomainError } from "../../domain/errors.js";
import type { CursorStore } from "../../ports/cursor-store.js";
import { toDomainError } from "./nats-errors.js";

const decoder = new TextDecoder();

/**
 * Cursors in a JetStream KV bucket, one key per consumer name. Advances are
 * compare-and-set on the key's revision, so concurrent confirms can never move
 * a cursor backwards; the value is a durable stream write like the facts.
 */
export class KvCursorStore implements CursorStore {
  readonly #kv: () => KV | undefined;

  constructor(kv: () => KV | undefined) {
    this.#kv = kv;
  }

  async get(consumer: string): Promise<number> {
    const kv = this.#bucket();
    try {
      const entry = await kv.get(consumer);
      return entry === null || entry.operation !== "PUT" ? 0 : Number(decoder.decode(entry.value));
    } catch (error) {
      throw toDomainError(error, "cursor read");
    }
  }

  async advance(consumer: string, offset: number): Promise<number> {
    const kv = this.#bucket();
    for (let attempt = 0; ; attempt++) {
      try {
        const entry = await kv.get(consumer);
        const current = entry === null || entry.operation !== "PUT" ? 0 : Number(decoder.decode(entry.value));
        if (offset <= current) return current;
        if (entry === null) await kv.create(consumer, String(offset));
        else await kv.update(consumer, String(offset), entry.revision);
        return offset;
      } catch (error) {
        // Lost a race with a concurrent confirm: re-read and decide again.
        if (attempt < 20 && /wrong last sequence|key exists/i.test((error as Error).message)) continue;
        throw toDomainError(error, "cursor update");
      }
    }
  }

  #bucket(): KV {
    const kv = this.#kv();
    if (kv === undefined)
      throw new DomainError("unavailable", "cursor store: the zone's NATS is not connected");
    return kv;
  }
}
