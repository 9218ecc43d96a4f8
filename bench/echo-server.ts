/**
 * The RPC framework's anchor: a bare connect-node service answering
 * bsfg.v1 AppendFact/AppendFacts from memory, behind the node's own mTLS
 * HTTP/2 listener (src/server/rpc-server.ts: same TLS 1.3, client-cert,
 * window and stream settings, same connect adapter options). No validation,
 * no JetStream. Run as its own process so it gets a core like the node does:
 *   node --import tsx bench/echo-server.ts <ca> <cert> <key>
 * Prints {"port": N} on stdout once listening; exits on SIGTERM.
 */
import type { ConnectRouter } from "@connectrpc/connect";
import { BoundaryService } from "../src/gen/bsfg/v1/boundary_pb.js";
import { serveBenchRoutes } from "./serve-bench-routes.js";

const [ca, cert, key] = process.argv.slice(2);
if (ca === undefined || cert === undefined || key === undefined) {
  console.error("usage: echo-server.ts <ca> <cert> <key>");
  process.exit(2);
}

let offset = 0n;
const routes = (router: ConnectRouter): void => {
  router.service(BoundaryService, {
    appendFact(req) {
      offset++;
      return { offset, category: req.category || "operational", duplicate: false };
    },
    appendFacts(req) {
      return {
        results: req.items.map((item) => {
          offset++;
          return {
            outcome: {
              case: "ok" as const,
              value: { offset, category: item.category || "operational", duplicate: false },
            },
          };
        }),
      };
    },
  });
};

await serveBenchRoutes({ ca, cert, key }, routes);
