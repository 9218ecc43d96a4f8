import { describe, expect, it } from "vitest";
import type { ForwardBuffer } from "../../src/ports/forward-buffer.js";
import { record } from "../fixtures/facts.js";

let unique = 0;

/** What every ForwardBuffer must do (in-memory fake and JetStream). Needs category "operational". */
export function forwardBufferContract(label: string, makeBuffer: () => ForwardBuffer): void {
  const imported = (offset: number) => ({ ...record(), offset });

  describe(`ForwardBuffer contract: ${label}`, () => {
    it("reports 0 for a peer it never imported from", async () => {
      expect(await makeBuffer().highWaterMark(`nobody-${++unique}`, "operational")).toBe(0);
    });

    it("keeps the high-water mark of source offsets per peer, durably", async () => {
      const buffer = makeBuffer();
      const peer = `peer-${++unique}`;
      const other = `peer-${++unique}`;
      await buffer.append(peer, "operational", [imported(3), imported(4), imported(9)]);
      await buffer.append(other, "operational", [imported(100)]);
      expect(await buffer.highWaterMark(peer, "operational")).toBe(9);
      expect(await makeBuffer().highWaterMark(peer, "operational")).toBe(9);
      await buffer.append(peer, "operational", [imported(10)]);
      expect(await buffer.highWaterMark(peer, "operational")).toBe(10);
      expect(await buffer.highWaterMark(other, "operational")).toBe(100);
    });

    it("serialises concurrent batches of different peers without losing any", async () => {
      const buffer = makeBuffer();
      const peers = [`peer-${++unique}`, `peer-${++unique}`, `peer-${++unique}`];
      await Promise.all(
        peers.map((p) =>
          buffer.append(
            p,
            "operational",
            Array.from({ length: 50 }, (_, i) => imported(i + 1)),
          ),
        ),
      );
      for (const p of peers) expect(await buffer.highWaterMark(p, "operational")).toBe(50);
    });
  });
}
