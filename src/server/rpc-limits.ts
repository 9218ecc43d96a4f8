import type http2 from "node:http2";
import type { Socket } from "node:net";

/**
 * What one client may cost the RPC listener. Every value is set explicitly on
 * the server because Node's defaults are either unbounded or sized for other
 * workloads (see rpcServerOptions and applyConnectionLimits).
 */
export interface RpcLimits {
  /** Per RPC message; larger requests get resource_exhausted before any handler runs. */
  readonly maxRequestBytes: number;
  /** Request header block (HTTP/2 header list, HTTP/1.1 header section). */
  readonly maxHeaderBytes: number;
  /** Concurrent streams per HTTP/2 connection. */
  readonly maxConcurrentStreams: number;
  /** nghttp2 memory per HTTP/2 connection (header tables, queued frames). */
  readonly maxSessionMemoryBytes: number;
  /** Open connections on the listener, TLS handshakes included. */
  readonly maxConnections: number;
  /** Requests in progress across all connections (long-polls included). */
  readonly maxInflightRequests: number;
  /** Request body bytes those requests may buffer, each counted up to maxRequestBytes. */
  readonly maxInflightRequestBytes: number;
  /** From TCP accept to a completed TLS handshake. */
  readonly handshakeTimeoutMs: number;
  /** A connection with no traffic at all for this long is closed. */
  readonly idleTimeoutMs: number;
  /** A request whose headers or body stop arriving for this long is cut off (slow or stalled uploads). */
  readonly requestIdleTimeoutMs: number;
  /**
   * A request must have arrived whole within this: over HTTP/2 every RPC with one
   * request message (all but uploads, which only have the idle limit), over HTTP/1.1 every request.
   */
  readonly requestTimeoutMs: number;
}

/** Mirrors the defaults of the config's `limits` section (checked by a unit test). */
export const DEFAULT_RPC_LIMITS: RpcLimits = {
  maxRequestBytes: 8 * 1024 ** 2,
  maxHeaderBytes: 16 * 1024,
  maxConcurrentStreams: 1000,
  maxSessionMemoryBytes: 64 * 1024 ** 2,
  maxConnections: 1000,
  maxInflightRequests: 2000,
  maxInflightRequestBytes: 128 * 1024 ** 2,
  handshakeTimeoutMs: 10_000,
  idleTimeoutMs: 120_000,
  requestIdleTimeoutMs: 30_000,
  requestTimeoutMs: 300_000,
};

/** The HTTP/2 and TLS options of the listener that bound a client's cost. */
export function rpcServerOptions(limits: RpcLimits): http2.SecureServerOptions {
  return {
    // Node's default is 120 s. Handshake bytes are consumed below the JS socket and never
    // refresh its timer, so this is a deadline from accept even for a client dribbling bytes.
    handshakeTimeout: limits.handshakeTimeoutMs,
    // Clients offering only an ALPN protocol we do not speak are dropped as fast as a slow handshake.
    unknownProtocolTimeout: limits.handshakeTimeoutMs,
    // Node's 10 MB default answers ENHANCE_YOUR_CALM under many concurrent streams; this is
    // the ceiling per connection, and maxConnections bounds how many there are.
    maxSessionMemory: Math.max(1, Math.ceil(limits.maxSessionMemoryBytes / 1024 ** 2)),
    // Node's default header list is 64 KiB per request; our headers are a few hundred bytes.
    maxHeaderListPairs: 128,
    // Node's defaults, stated: a client that keeps sending invalid frames or opening streams
    // beyond the limit (the "rapid reset" pattern) loses its connection.
    maxSessionInvalidFrames: 1000,
    maxSessionRejectedStreams: 100,
    maxOutstandingPings: 10,
    settings: {
      maxConcurrentStreams: limits.maxConcurrentStreams,
      maxHeaderListSize: limits.maxHeaderBytes,
      // A 1 MiB stream window lets uploads run at link speed; maxSessionMemory caps the sum.
      initialWindowSize: 1024 * 1024,
    },
  };
}

/** The server-level limits Node exposes as properties rather than constructor options. */
export function applyConnectionLimits(server: http2.Http2SecureServer, limits: RpcLimits): void {
  server.maxConnections = limits.maxConnections;
  // Session (HTTP/2) and socket (HTTP/1.1) idle timeout; must exceed the longest long-poll.
  server.setTimeout(limits.idleTimeoutMs);
  server.on("timeout", (idle: http2.ServerHttp2Session | Socket) => {
    // Node would destroy an idle session; GOAWAY lets a request racing the timeout finish.
    if ("goaway" in idle) idle.close();
    else idle.destroy();
  });
  // HTTP/1.1 (allowHTTP1): Node reads these from the server when a connection arrives.
  const http1 = server as http2.Http2SecureServer & {
    headersTimeout: number;
    requestTimeout: number;
    connectionsCheckingInterval: number;
    maxHeaderSize: number;
  };
  http1.headersTimeout = limits.requestIdleTimeoutMs;
  http1.requestTimeout = limits.requestTimeoutMs;
  http1.maxHeaderSize = limits.maxHeaderBytes;
  // Node checks both timeouts only every 30 s by default, too coarse for short limits.
  http1.connectionsCheckingInterval = Math.min(
    30_000,
    Math.max(100, Math.floor(Math.min(limits.requestIdleTimeoutMs, limits.requestTimeoutMs) / 2)),
  );
}
