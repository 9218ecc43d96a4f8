import http2 from "node:http2";

export interface StallLimits {
  /** The body may pause at most this long between frames. */
  readonly idleMs: number;
  /** The whole body must have arrived this long after the headers; undefined for uploads of any length. */
  readonly totalMs: number | undefined;
}

/**
 * Resets an HTTP/2 request whose body stops arriving for `idleMs`, or that is
 * still arriving `totalMs` after its headers: a slow or dribbled upload holds
 * a stream, a handler and its buffers for as long as the client likes
 * otherwise. Once the client has sent the whole body the request is the
 * handler's: long-polls and downloads are not limited here.
 */
export function guardStalledRequest(
  req: http2.Http2ServerRequest,
  limits: StallLimits,
  onStall: (reason: string) => void,
): void {
  const stream = req.stream;
  if (stream.endAfterHeaders || stream.destroyed) return;
  const cutOff = (reason: string) => {
    // Everything arrived and the handler is still reading it: our slowness, not the client's.
    if (stream.destroyed || stream.state.remoteClose === 1) return;
    onStall(reason);
    stream.close(http2.constants.NGHTTP2_CANCEL);
  };
  const total =
    limits.totalMs === undefined
      ? undefined
      : setTimeout(() => cutOff(`request body not complete within ${limits.totalMs} ms`), limits.totalMs);
  total?.unref();
  const done = () => {
    clearTimeout(total);
    stream.setTimeout(0);
  };
  // 'end' once the handler has read the body to its END_STREAM; 'close' if it never does.
  stream.once("end", done);
  stream.once("close", done);
  stream.setTimeout(limits.idleMs, () => cutOff(`request body stalled for ${limits.idleMs} ms`));
}
