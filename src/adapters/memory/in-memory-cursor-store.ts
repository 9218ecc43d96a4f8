import type { CursorStore } from "../../ports/cursor-store.js";

/** Cursors in process memory, for unit tests of the core. */
export class InMemoryCursorStore implements CursorStore {
  readonly #cursors = new Map<string, number>();

  async get(consumer: string): Promise<number> {
    return this.#cursors.get(consumer) ?? 0;
  }

  async advance(consumer: string, offset: number): Promise<number> {
    await Promise.resolve();
    const current = this.#cursors.get(consumer) ?? 0;
    if (offset <= current) return current;
    this.#cursors.set(consumer, offset);
    return offset;
  }
}
