import type { KV, KvEntry } from "@nats-io/kv";
import { toDomainError } from "./nats-errors.js";

const ATTEMPTS = 20;

/** Whether nats.js refused a KV write because the key changed since it was read (a lost race). */
export function isCasFailure(error: unknown): boolean {
  return /wrong last sequence|key exists/i.test((error as Error)?.message ?? "");
}

/**
 * Reads `key`, lets `next` decide its new value (undefined leaves it as it
 * is), and writes that only if the key has not changed since the read; a
 * lost race reads and decides again. An error `next` throws ends it as is.
 */
export async function compareAndSet(
  kv: KV,
  key: string,
  what: string,
  next: (entry: KvEntry | null) => string | undefined,
): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      const entry = await kv.get(key);
      const value = next(entry);
      if (value === undefined) return;
      if (entry === null) await kv.create(key, value);
      else await kv.update(key, value, entry.revision);
      return;
    } catch (error) {
      if (attempt < ATTEMPTS && isCasFailure(error)) continue;
      throw toDomainError(error, what);
    }
  }
}
