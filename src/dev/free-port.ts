import { createServer } from "node:net";

/**
 * Ports handed out here lie below Linux's default ephemeral range
 * (32768–60999), where the OS also picks the local port of every outgoing
 * connection: a port taken from that range can be grabbed by any client's
 * connect() between this check and the listener's bind (seen as EADDRINUSE).
 */
export const FREE_PORT_RANGE = { from: 20_000, to: 32_767 } as const;

/** A TCP port that was free a moment ago on 127.0.0.1, outside the ephemeral range. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port =
      FREE_PORT_RANGE.from + Math.floor(Math.random() * (FREE_PORT_RANGE.to - FREE_PORT_RANGE.from + 1));
    if (await bindable(port)) return port;
  }
  const port = await bindable(0);
  if (port === 0) throw new Error("no free TCP port on 127.0.0.1");
  return port;
}

/** Listens on `port` (0: the OS picks) and closes again; the port, or 0 when it was taken. */
function bindable(port: number): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(0));
    server.listen(port, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0));
    });
  });
}
