import type { KV, KvEntry } from "@nats-io/kv";
import { DomainError } from "../../domain/errors.js";
import type { CursorStore } from "../../ports/cursor-store.js";
import { compareAndSet } from "./kv-compare-and-set.js";
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
      return cursorOf(await kv.get(consumer));
    } catch (error) {
      throw toDomainError(error, "cursor read");
    }
  }

  async advance(consumer: string, offset: number): Promise<number> {
    let cursor = offset;
    // A concurrent confirm may win the race: the cursor is then re-read, never moved back.
    await compareAndSet(this.#bucket(), consumer, "cursor update", (entry) => {
      const current = cursorOf(entry);
      cursor = Math.max(current, offset);
      return offset <= current ? undefined : String(offset);
    });
    return cursor;
  }

  #bucket(): KV {
    const kv = this.#kv();
    if (kv === undefined)
      throw new DomainError("unavailable", "cursor store: the zone's NATS is not connected");
    return kv;
  }
}

function cursorOf(entry: KvEntry | null): number {
  return entry === null || entry.operation !== "PUT" ? 0 : Number(decoder.decode(entry.value));
}
