import { once } from "node:events";
import type { IncomingMessage } from "node:http";
import http2 from "node:http2";
import type { AddressInfo, Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import { createContextValues, type Interceptor } from "@connectrpc/connect";
import type { Logger } from "../ports/logger.js";
import { createDecodeFailureInterceptor } from "../rpc/decode-failure-interceptor.js";
import { codeName } from "../rpc/error-mapping.js";
import { principalKey } from "../rpc/principal.js";
import type { NodeRouter } from "../rpc/routes.js";
import { type IdentitySource, identityOf } from "./peer-identity.js";
import { RequestBudget } from "./request-budget.js";
import { applyConnectionLimits, DEFAULT_RPC_LIMITS, type RpcLimits, rpcServerOptions } from "./rpc-limits.js";
import { createRpcRequestHandler } from "./rpc-request-handler.js";
import { guardStalledRequest } from "./stalled-request-guard.js";
import { tlsRefusalReason } from "./tls-refusal.js";

export interface RpcServerOptions {
  readonly host: string;
  readonly port: number;
  readonly tls: {
    readonly key: Buffer | string;
    readonly cert: Buffer | string;
    readonly ca: Buffer | string;
  };
  readonly identity: IdentitySource;
  readonly routes: (router: NodeRouter) => void;
  readonly interceptors: readonly Interceptor[];
  /** Per-message limit; larger requests get resource_exhausted before any handler runs. */
  readonly readMaxBytes: number;
  /** Connection, stream and timing limits; DEFAULT_RPC_LIMITS where not given. */
  readonly limits?: Partial<Omit<RpcLimits, "maxRequestBytes">>;
  readonly logger: Logger;
}

/**
 * The mTLS listener for bsfg.v1 (Connect, gRPC and gRPC-Web over HTTP/2, and
 * HTTP/1.1 for curl). TLS 1.3 only; a client certificate signed by the zone
 * CA is required before any byte of RPC is read.
 */
export class RpcServer {
  readonly #server: http2.Http2SecureServer;
  readonly #sockets = new Set<Socket>();
  readonly #sessions = new Set<http2.ServerHttp2Session>();
  readonly #principals = new WeakMap<object, string>();
  readonly #o: RpcServerOptions;

  constructor(options: RpcServerOptions) {
    this.#o = options;
    const limits: RpcLimits = {
      ...DEFAULT_RPC_LIMITS,
      ...options.limits,
      maxRequestBytes: options.readMaxBytes,
    };
    const rpcLogger = options.logger;
    const budget = new RequestBudget({
      maxRequests: limits.maxInflightRequests,
      maxBytes: limits.maxInflightRequestBytes,
      // One message plus the envelope header in front of it.
      perRequestBytes: limits.maxRequestBytes + 5,
    });
    const handler = createRpcRequestHandler({
      routes: options.routes,
      handler: {
        // Innermost, so the outer interceptors (logging) already see decode failures as invalid input.
        interceptors: [...options.interceptors, createDecodeFailureInterceptor()],
        readMaxBytes: limits.maxRequestBytes,
        // Compressed requests are accepted, but responses go out as they are:
        // gzip of artifact chunks costs more CPU than the loopback or LAN saves.
        compressMinBytes: Number.MAX_SAFE_INTEGER,
      },
      contextValues: (req) => createContextValues().set(principalKey, this.#principalOf(req)),
      onDecodeFailure: (method, req, error) =>
        // The line the logging interceptor writes, for requests refused before it runs.
        rpcLogger.info(
          {
            procedure: method.name,
            principal: req.contextValues?.get(principalKey),
            code: codeName(error.code),
            error: error.rawMessage,
          },
          "rpc",
        ),
      admit: () => budget.enter(),
      beforeDispatch: (req, method) => {
        if (!("stream" in req)) return; // HTTP/1.1: Node's headersTimeout and requestTimeout apply.
        // One request message has at most max_request_bytes; an upload stream may run for hours.
        const upload = method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming";
        const stall = {
          idleMs: limits.requestIdleTimeoutMs,
          totalMs: upload ? undefined : limits.requestTimeoutMs,
        };
        guardStalledRequest(req, stall, (reason) =>
          rpcLogger.warn(
            {
              procedure: method.name,
              principal: this.#principalOf(req),
              remote: req.socket.remoteAddress,
              reason,
            },
            "request cut off; stream reset",
          ),
        );
      },
      onWriteFailure: (method, reason) =>
        rpcLogger.warn({ procedure: method.name, err: reason }, "rpc response could not be written"),
    });
    this.#server = http2.createSecureServer(
      {
        ...rpcServerOptions(limits),
        key: options.tls.key,
        cert: options.tls.cert,
        ca: options.tls.ca,
        requestCert: true,
        rejectUnauthorized: true,
        minVersion: "TLSv1.3",
        allowHTTP1: true,
      },
      handler,
    );
    applyConnectionLimits(this.#server, limits);
    this.#server.on("secureConnection", (socket: TLSSocket) => {
      // Small RPC answers go out at once instead of waiting on Nagle for the peer's delayed ACK.
      socket.setNoDelay(true);
      this.#sockets.add(socket);
      socket.once("close", () => this.#sockets.delete(socket));
    });
    this.#server.on("session", (session) => {
      // Uploads arrive faster than one 64 KiB connection window per event-loop turn.
      session.once("connect", () => session.setLocalWindowSize(16 * 1024 * 1024));
      this.#sessions.add(session);
      session.once("close", () => this.#sessions.delete(session));
    });
    this.#server.on("tlsClientError", (error: NodeJS.ErrnoException, socket: TLSSocket) => {
      rpcLogger.warn(
        { remote: socket.remoteAddress, ...tlsRefusalReason(error, socket, limits.handshakeTimeoutMs) },
        "TLS handshake refused",
      );
    });
  }

  /**
   * Certificate rotation: new connections use the new key, certificate and CA;
   * established sessions and their in-flight RPCs are left alone. Throws (and
   * keeps the old material) when the new files do not form a valid context.
   */
  reloadTls(tls: RpcServerOptions["tls"]): void {
    this.#server.setSecureContext({ key: tls.key, cert: tls.cert, ca: tls.ca });
  }

  /**
   * A connection's client certificate never changes, and reading it is one of
   * the costliest steps of a small RPC, so it is resolved once per socket.
   */
  #principalOf(req: http2.Http2ServerRequest | IncomingMessage): string {
    // HTTP/2 requests hand out a new socket proxy per stream; the session is the connection.
    const connection: object = "stream" in req ? (req.stream.session ?? req.socket) : req.socket;
    const cached = this.#principals.get(connection);
    if (cached !== undefined) return cached;
    const principal = identityOf(req.socket as TLSSocket, this.#o.identity);
    this.#principals.set(connection, principal);
    return principal;
  }

  async listen(): Promise<AddressInfo> {
    this.#server.listen(this.#o.port, this.#o.host);
    await once(this.#server, "listening");
    return this.#server.address() as AddressInfo;
  }

  /**
   * Stops accepting connections, lets in-flight RPCs finish (HTTP/2 GOAWAY),
   * and destroys whatever is still open when `graceMs` runs out.
   */
  async close(graceMs: number): Promise<void> {
    if (!this.#server.listening) return;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const session of this.#sessions) session.close();
    const deadline = new Promise<"timeout">((resolve) =>
      setTimeout(() => resolve("timeout"), graceMs).unref(),
    );
    const outcome = await Promise.race([closed.then(() => "closed" as const), deadline]);
    if (outcome === "timeout") {
      this.#o.logger.warn({ open: this.#sockets.size }, "grace period over; closing remaining connections");
      for (const socket of this.#sockets) socket.destroy();
      await closed;
    }
  }
}
