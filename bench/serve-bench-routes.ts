/**
 * How the bench's own RPC servers (bench/echo-server.ts, bench/bare-service.ts)
 * run: on the node's own mTLS HTTP/2 listener (src/server/rpc-server.ts: same
 * TLS 1.3, client-cert, window and stream settings, same connect adapter
 * options), on a free port printed as {"port": N} once listening, until SIGTERM.
 */
import { readFileSync } from "node:fs";
import { silentLogger } from "../src/ports/logger.js";
import type { NodeRouter } from "../src/rpc/routes.js";
import { RpcServer } from "../src/server/rpc-server.js";

export async function serveBenchRoutes(
  tls: { readonly ca: string; readonly cert: string; readonly key: string },
  routes: (router: NodeRouter) => void,
  /** Runs after the server closed, before the process exits. */
  onClose: () => Promise<void> = async () => undefined,
): Promise<void> {
  const server = new RpcServer({
    host: "127.0.0.1",
    port: 0,
    tls: { ca: readFileSync(tls.ca), cert: readFileSync(tls.cert), key: readFileSync(tls.key) },
    identity: "cn",
    routes,
    interceptors: [],
    readMaxBytes: 4 * 1024 * 1024,
    logger: silentLogger,
  });
  const address = await server.listen();
  process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
  process.once("SIGTERM", () => {
    void server
      .close(1000)
      .then(onClose)
      .then(() => process.exit(0));
  });
}
