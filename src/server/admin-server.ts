import { once } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface Readiness {
  readonly ready: boolean;
  readonly reasons: readonly string[];
}

export interface AdminServerOptions {
  readonly host: string;
  readonly port: number;
  readonly readiness: () => Readiness;
  readonly metrics: () => Promise<{ contentType: string; body: string }>;
  /** The JSON document served at `/status`. */
  readonly status: () => Promise<object>;
}

/**
 * Plain-HTTP operations listener, separate from RPC so probes and scrapes
 * never need client certificates: `/livez` depends on nothing but the
 * process, `/readyz` on the zone's own NATS and provisioning only, `/status`
 * shows gates, imports, cursors and backlogs.
 */
export class AdminServer {
  readonly #server: http.Server;
  readonly #o: AdminServerOptions;

  constructor(options: AdminServerOptions) {
    this.#o = options;
    this.#server = http.createServer((req, res) => {
      void this.#handle(req, res);
    });
    this.#server.keepAliveTimeout = 5_000;
  }

  async listen(): Promise<AddressInfo> {
    this.#server.listen(this.#o.port, this.#o.host);
    await once(this.#server, "listening");
    return this.#server.address() as AddressInfo;
  }

  async close(): Promise<void> {
    if (!this.#server.listening) return;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    await closed;
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    switch (path) {
      case "/livez":
        res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
        return;
      case "/readyz": {
        const r = this.#o.readiness();
        res
          .writeHead(r.ready ? 200 : 503, { "content-type": "application/json" })
          .end(`${JSON.stringify({ ready: r.ready, reasons: r.reasons })}\n`);
        return;
      }
      case "/status":
        try {
          res
            .writeHead(200, { "content-type": "application/json" })
            .end(`${JSON.stringify(await this.#o.status(), null, 2)}\n`);
        } catch (error) {
          res
            .writeHead(500, { "content-type": "text/plain" })
            .end(`status failed: ${(error as Error).message}\n`);
        }
        return;
      case "/metrics":
        try {
          const m = await this.#o.metrics();
          res.writeHead(200, { "content-type": m.contentType }).end(m.body);
        } catch (error) {
          res
            .writeHead(500, { "content-type": "text/plain" })
            .end(`metrics failed: ${(error as Error).message}\n`);
        }
        return;
      default:
        res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
    }
  }
}
