import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it, vi } from "vitest";
import { RequestBudget } from "../../../src/server/request-budget.js";

async function* chunks(...sizes: number[]): AsyncIterable<Uint8Array> {
  for (const size of sizes) yield new Uint8Array(size);
}

/** Reads a metered body to the end: the bytes handed on, or the error it failed with. */
async function read(body: AsyncIterable<Uint8Array>): Promise<number | ConnectError> {
  let total = 0;
  try {
    for await (const chunk of body) total += chunk.byteLength;
    return total;
  } catch (error) {
    return ConnectError.from(error);
  }
}

describe("request budget", () => {
  it("answers requests beyond the count resource_exhausted, and admits again once one is released", async () => {
    const budget = new RequestBudget({ maxRequests: 2, maxBytes: 1000, perRequestBytes: 100 });
    const a = budget.enter();
    const b = budget.enter();
    const refused = await read(budget.enter().meter(chunks(10)));
    expect(refused).toBeInstanceOf(ConnectError);
    expect((refused as ConnectError).code).toBe(Code.ResourceExhausted);
    expect((refused as ConnectError).rawMessage).toMatch(/limits\.max_inflight_requests/);
    a.release();
    a.release();
    expect(budget.requests).toBe(1);
    expect(await read(budget.enter().meter(chunks(10)))).toBe(10);
    b.release();
  });

  it("fails a body that would take the bytes in progress past the limit at once, and reads the rest behind it", async () => {
    const budget = new RequestBudget({ maxRequests: 10, maxBytes: 100, perRequestBytes: 80 });
    const first = budget.enter();
    expect(await read(first.meter(chunks(30, 30)))).toBe(60);
    expect(budget.bytes).toBe(60);
    let drained = 0;
    const second = budget.enter();
    const error = await read(
      second.meter(
        (async function* () {
          for (const size of [20, 30, 500]) {
            // A client on the network: the next chunk is not there yet.
            await new Promise((resolve) => setTimeout(resolve, 5));
            drained += size;
            yield new Uint8Array(size);
          }
        })(),
      ),
    );
    expect((error as ConnectError).code).toBe(Code.ResourceExhausted);
    expect((error as ConnectError).rawMessage).toMatch(/limits\.max_inflight_request_bytes/);
    // Answered before the rest was read (an upload is not read to its end first)...
    expect(drained).toBe(50);
    // ...and the rest is read behind the answer, so the stream is not left waiting on flow control.
    await vi.waitFor(() => expect(drained).toBe(550));
    second.release();
    first.release();
    expect(budget.bytes).toBe(0);
  });

  it("counts one request up to one message, so a long upload does not use up the budget", async () => {
    const budget = new RequestBudget({ maxRequests: 10, maxBytes: 100, perRequestBytes: 40 });
    const upload = budget.enter();
    expect(await read(upload.meter(chunks(30, 30, 30, 30)))).toBe(120);
    expect(budget.bytes).toBe(40);
    upload.release();
    expect(budget.bytes).toBe(0);
  });
});
