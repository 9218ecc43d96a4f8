import { once } from "node:events";
import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { FREE_PORT_RANGE, freePort } from "../../../src/dev/free-port.js";

// Ports for test and dev listeners come from below the ephemeral range, where
// outgoing connections take their local ports, so none can steal one between
// the pick and the listener's bind.

describe("freePort", () => {
  it("hands out listenable ports below the ephemeral range", async () => {
    for (let i = 0; i < 20; i++) {
      const port = await freePort();
      expect(port).toBeGreaterThanOrEqual(FREE_PORT_RANGE.from);
      expect(port).toBeLessThanOrEqual(FREE_PORT_RANGE.to);
      const server = createServer().listen(port, "127.0.0.1");
      await once(server, "listening");
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("skips a port that is taken", async () => {
    const taken = await freePort();
    const holder = createServer().listen(taken, "127.0.0.1");
    await once(holder, "listening");
    try {
      const ports = new Set<number>();
      for (let i = 0; i < 200; i++) ports.add(await freePort());
      expect(ports.has(taken)).toBe(false);
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });
});
