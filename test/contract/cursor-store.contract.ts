import { describe, expect, it } from "vitest";
import type { CursorStore } from "../../src/ports/cursor-store.js";

let unique = 0;
const name = () => `contract-${process.pid}-${++unique}`;

/** What every CursorStore must do (in-memory fake and JetStream KV). */
export function cursorStoreContract(label: string, makeStore: () => CursorStore): void {
  describe(`CursorStore contract: ${label}`, () => {
    it("starts at 0 and advances", async () => {
      const store = makeStore();
      const c = name();
      expect(await store.get(c)).toBe(0);
      expect(await store.advance(c, 5)).toBe(5);
      expect(await store.get(c)).toBe(5);
    });

    it("never regresses and treats offsets at or below the cursor as no-ops", async () => {
      const store = makeStore();
      const c = name();
      await store.advance(c, 10);
      expect(await store.advance(c, 3)).toBe(10);
      expect(await store.advance(c, 10)).toBe(10);
      expect(await store.get(c)).toBe(10);
    });

    it("ends at the maximum under concurrent advances", async () => {
      const store = makeStore();
      const c = name();
      const offsets = Array.from({ length: 30 }, (_, i) => (i * 7919) % 101);
      await Promise.all(offsets.map((o) => store.advance(c, o)));
      expect(await store.get(c)).toBe(Math.max(...offsets));
    });

    it("keeps consumers apart", async () => {
      const store = makeStore();
      const [a, b] = [name(), name()];
      await store.advance(a, 4);
      expect(await store.get(b)).toBe(0);
    });
  });
}
