import { describe, expect, it } from "vitest";
import { FactPermits } from "../../../src/use-cases/fact-permits.js";

const settled = () => new Promise((resolve) => setImmediate(resolve));

describe("FactPermits", () => {
  it("grants up to its capacity and makes the rest wait, first come first served", async () => {
    const queued: number[] = [];
    const permits = new FactPermits(10, (n) => queued.push(n));
    const order: string[] = [];
    await permits.acquire(6);
    const big = permits.acquire(8).then((n) => order.push(`big:${n}`));
    // Fits the 4 free permits, but waits behind the earlier, larger request.
    const small = permits.acquire(2).then((n) => order.push(`small:${n}`));
    await settled();
    expect(order).toEqual([]);
    expect(permits.inUse).toBe(6);
    permits.release(6);
    await Promise.all([big, small]);
    expect(order).toEqual(["big:8", "small:2"]);
    expect(permits.inUse).toBe(10);
    expect(queued).toEqual([8, 10, 2, 0]);
  });

  it("lets a request larger than the capacity take all of it rather than wait forever", async () => {
    const permits = new FactPermits(4);
    const n = await permits.acquire(50);
    expect(n).toBe(4);
    const next = permits.acquire(1);
    permits.release(n);
    expect(await next).toBe(1);
  });

  it("drops a waiter whose caller went away, and lets those behind it start", async () => {
    const queued: number[] = [];
    const permits = new FactPermits(10, (n) => queued.push(n));
    await permits.acquire(6);
    const gone = new AbortController();
    const big = permits.acquire(8, gone.signal);
    const small = permits.acquire(3);
    await settled();
    expect(queued.at(-1)).toBe(11);
    gone.abort();
    await expect(big).rejects.toMatchObject({ kind: "cancelled" });
    // The small request fits the 4 free permits once the big one no longer heads the queue.
    expect(await small).toBe(3);
    expect(permits.inUse).toBe(9);
    expect(queued.at(-1)).toBe(0);
    // The permits the cancelled waiter never got are not handed out twice.
    permits.release(9);
    expect(permits.inUse).toBe(0);
    expect(await permits.acquire(10)).toBe(10);
  });

  it("refuses at once a caller that is already gone, even with permits free", async () => {
    const permits = new FactPermits(10);
    await expect(permits.acquire(1, AbortSignal.abort())).rejects.toMatchObject({ kind: "cancelled" });
    expect(permits.inUse).toBe(0);
  });

  it("ignores an abort after the permits were granted", async () => {
    const permits = new FactPermits(2);
    const held = await permits.acquire(2);
    const later = new AbortController();
    const waiting = permits.acquire(1, later.signal);
    permits.release(held);
    expect(await waiting).toBe(1);
    later.abort();
    expect(permits.inUse).toBe(1);
  });

  it("refuses a capacity that is not a positive integer", () => {
    expect(() => new FactPermits(0)).toThrow(RangeError);
    expect(() => new FactPermits(1.5)).toThrow(RangeError);
  });
});
