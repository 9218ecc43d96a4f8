import { describe, expect, it } from "vitest";
import { withEitherSignal } from "../../../src/rpc/with-either-signal.js";

describe("withEitherSignal", () => {
  it("aborts when either signal aborts, and is aborted from the start if one already is", async () => {
    for (const which of ["a", "b"] as const) {
      const a = new AbortController();
      const b = new AbortController();
      const seen = await withEitherSignal(a.signal, b.signal, async (signal) => {
        expect(signal.aborted).toBe(false);
        (which === "a" ? a : b).abort();
        return signal.aborted;
      });
      expect(seen).toBe(true);
    }
    const gone = AbortSignal.abort();
    expect(await withEitherSignal(gone, new AbortController().signal, async (s) => s.aborted)).toBe(true);
  });

  it("leaves no listener on the long-lived signal once done, even when fn throws", async () => {
    const longLived = new AbortController();
    let listeners = 0;
    const add = longLived.signal.addEventListener.bind(longLived.signal);
    const remove = longLived.signal.removeEventListener.bind(longLived.signal);
    longLived.signal.addEventListener = ((...args: Parameters<typeof add>) => {
      listeners++;
      add(...args);
    }) as typeof add;
    longLived.signal.removeEventListener = ((...args: Parameters<typeof remove>) => {
      listeners--;
      remove(...args);
    }) as typeof remove;
    await withEitherSignal(new AbortController().signal, longLived.signal, async () => 1);
    await withEitherSignal(new AbortController().signal, longLived.signal, async () => {
      throw new Error("x");
    }).catch(() => undefined);
    expect(listeners).toBe(0);
  });
});
