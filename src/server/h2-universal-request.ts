import { constants, type Http2ServerRequest } from "node:http2";
import { Code, ConnectError, type ContextValues } from "@connectrpc/connect";
import type { UniversalServerRequest } from "@connectrpc/connect/protocol";

/** host[:port] or [IPv6][:port]: what `new URL` accepts in a URL's authority. */
const AUTHORITY = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

export interface H2UniversalRequest {
  readonly request: UniversalServerRequest;
  /**
   * Says the response is complete: the stream's close then aborts nothing.
   * Until then a close aborts `request.signal`, so a handler still running
   * (a long poll, a queued append) learns that its client is gone.
   */
  settle(): void;
}

/**
 * What connect-node's universalRequestFromNodeRequest does for an HTTP/2
 * request, without its two costs per call: a `new URL` for a path already
 * routed, and an abort on every stream close. Node builds each reasonless
 * abort's DOMException with a stack trace and dispatches it to the signal's
 * listeners; with the abort at every close this was ~5 % of a node's CPU per
 * unary call under h2load, for a signal nobody listens to once the response
 * is complete.
 */
export function universalRequestFromH2(
  req: Http2ServerRequest,
  contextValues: ContextValues,
): H2UniversalRequest {
  const abort = new AbortController();
  let settled = false;
  req.once("close", () => {
    if (!settled) abort.abort(closedEarly(req.stream.rstCode));
  });
  const header = new Headers();
  const nodeHeaders = req.headers;
  for (const name in nodeHeaders) {
    // HTTP/2 pseudo-headers (:path, :method, ...) are not headers to the handler.
    if (name.startsWith(":")) continue;
    const value = nodeHeaders[name];
    if (typeof value === "string") header.append(name, value);
    else if (value !== undefined) for (const v of value) header.append(name, v);
  }
  // Requests are routed by path alone, and connect-es reads only the URL's path and query
  // (parsing it whole, so an authority it cannot parse would fail the call).
  const given = req.authority ?? req.headers.host;
  const authority = given !== undefined && AUTHORITY.test(given) ? given : "localhost";
  return {
    request: {
      httpVersion: req.httpVersion,
      method: req.method,
      url: `${req.scheme ?? "https"}://${authority}${req.url}`,
      header,
      // A Readable is an async iterable of its chunks (Buffers) already.
      body: req as AsyncIterable<Uint8Array>,
      signal: abort.signal,
      contextValues,
    },
    settle() {
      settled = true;
    },
  };
}

/** The reason a stream that closed before its response was complete gives its handler. */
function closedEarly(rstCode: number | undefined): ConnectError {
  const how =
    rstCode === undefined || rstCode === constants.NGHTTP2_NO_ERROR
      ? "http/2 stream closed before its response was complete"
      : `http/2 stream reset with error code 0x${rstCode.toString(16)}`;
  return new ConnectError(how, codeOfReset(rstCode));
}

// gRPC's mapping of HTTP/2 RST_STREAM codes (doc/PROTOCOL-HTTP2.md, "Errors").
function codeOfReset(rstCode: number | undefined): Code {
  switch (rstCode) {
    case constants.NGHTTP2_REFUSED_STREAM:
      return Code.Unavailable;
    case constants.NGHTTP2_ENHANCE_YOUR_CALM:
      return Code.ResourceExhausted;
    case constants.NGHTTP2_INADEQUATE_SECURITY:
    case constants.NGHTTP2_HTTP_1_1_REQUIRED:
      return Code.PermissionDenied;
    case constants.NGHTTP2_PROTOCOL_ERROR:
    case constants.NGHTTP2_INTERNAL_ERROR:
    case constants.NGHTTP2_FLOW_CONTROL_ERROR:
    case constants.NGHTTP2_SETTINGS_TIMEOUT:
    case constants.NGHTTP2_FRAME_SIZE_ERROR:
    case constants.NGHTTP2_COMPRESSION_ERROR:
    case constants.NGHTTP2_CONNECT_ERROR:
      return Code.Internal;
    default:
      return Code.Canceled;
  }
}
