import type { Socket } from "node:net";
import type { Server, TLSSocket } from "node:tls";

/**
 * Closes every connection whose TLS handshake has not completed `ms` after it
 * was accepted. Node's `handshakeTimeout` only counts silence, so a client
 * dribbling its handshake a byte at a time would hold the socket for as long
 * as it likes.
 */
export function enforceHandshakeDeadline(
  server: Server,
  ms: number,
  onExpired: (remoteAddress: string | undefined) => void,
): void {
  // The TLS socket wraps the accepted one; both report the same remote address and port.
  const pending = new Map<string, { socket: Socket; timer: NodeJS.Timeout }>();
  const keyOf = (socket: Socket) => `${socket.remoteAddress}|${socket.remotePort}`;
  server.on("connection", (socket: Socket) => {
    const key = keyOf(socket);
    const timer = setTimeout(() => {
      if (pending.get(key)?.socket !== socket) return;
      pending.delete(key);
      if (socket.destroyed) return;
      onExpired(socket.remoteAddress);
      socket.destroy();
    }, ms);
    timer.unref();
    pending.set(key, { socket, timer });
  });
  server.on("secureConnection", (socket: TLSSocket) => {
    const key = keyOf(socket);
    const entry = pending.get(key);
    if (entry === undefined) return;
    clearTimeout(entry.timer);
    pending.delete(key);
  });
}
