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

  it("refuses a capacity that is not a positive integer", () => {
    expect(() => new FactPermits(0)).toThrow(RangeError);
    expect(() => new FactPermits(1.5)).toThrow(RangeError);
  });
});
