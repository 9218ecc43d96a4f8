import http2 from "node:http2";

/**
 * Resets an HTTP/2 request whose body stops arriving for `idleMs` (a slow or
 * stalled upload holds a stream, a handler and its buffers for as long as the
 * client likes otherwise). Once the body is complete the request is the
 * handler's: long-polls and downloads are not limited here.
 */
export function guardStalledRequest(
  req: http2.Http2ServerRequest,
  idleMs: number,
  onStall: () => void,
): void {
  const stream = req.stream;
  if (stream.endAfterHeaders || stream.destroyed) return;
  // 'end' once the handler has read the body to its END_STREAM.
  const received = () => stream.setTimeout(0);
  stream.once("end", received);
  stream.setTimeout(idleMs, () => {
    stream.off("end", received);
    // Everything arrived and the handler is still reading it: our slowness, not the client's.
    if (stream.destroyed || stream.state.remoteClose === 1) return;
    onStall();
    stream.close(http2.constants.NGHTTP2_CANCEL);
  });
}
