/**
 * A plaintext TCP listener on 127.0.0.1 whose every connection is carried,
 * byte for byte, to a node's RPC port over TLS with a client certificate and
 * ALPN h2. Load generators that cannot present a client certificate (h2load)
 * speak HTTP/2 with prior knowledge to it; the node sees an mTLS client with
 * the forwarder's identity. Nothing is parsed: it costs one TLS client, as
 * any mTLS load generator would pay itself.
 */
import { once } from "node:events";
import { createServer, type Server, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";

export interface MtlsForwarderOptions {
  /** The node's RPC endpoint, `https://host:port`. */
  readonly target: string;
  readonly ca: string | Buffer;
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
  /** Listen port on 127.0.0.1; 0 picks a free one. */
  readonly port?: number;
}

export interface MtlsForwarder {
  /** `http://127.0.0.1:<port>`: HTTP/2 with prior knowledge (h2load's default for http URIs). */
  readonly url: string;
  close(): Promise<void>;
}

export async function startMtlsForwarder(o: MtlsForwarderOptions): Promise<MtlsForwarder> {
  const target = new URL(o.target);
  if (target.protocol !== "https:") throw new Error(`target: expected an https:// URL, got ${o.target}`);
  const port = Number(target.port || 443);
  const host = target.hostname.replace(/^\[|\]$/g, "");
  const sockets = new Set<Socket>();
  const server: Server = createServer((plain) => {
    plain.setNoDelay(true);
    const secure = tlsConnect({
      host,
      port,
      // SNI carries names only, never addresses.
      servername: /^[\d.]+$|:/.test(host) ? undefined : host,
      ca: o.ca,
      cert: o.cert,
      key: o.key,
      ALPNProtocols: ["h2"],
    });
    secure.setNoDelay(true);
    for (const s of [plain, secure]) {
      sockets.add(s);
      s.once("close", () => sockets.delete(s));
    }
    // Either side failing or ending ends both: a half-open relay would hang the load generator.
    const end = () => {
      plain.destroy();
      secure.destroy();
    };
    plain.on("error", end).on("close", end);
    secure.on("error", end).on("close", end);
    plain.pipe(secure);
    secure.pipe(plain);
  });
  server.listen(o.port ?? 0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("forwarder: no TCP address");
  return {
    url: `http://127.0.0.1:${address.port}`,
    close: async () => {
      for (const s of sockets) s.destroy();
      server.close();
      await once(server, "close");
    },
  };
}
