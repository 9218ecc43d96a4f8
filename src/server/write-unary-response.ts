import type { UniversalServerResponse } from "@connectrpc/connect/protocol";
import type { universalResponseToNodeResponse } from "@connectrpc/connect-node";

export type NodeResponse = Parameters<typeof universalResponseToNodeResponse>[1];

/** A response whose body is complete when its handler settles: a unary call without trailers. */
export function isWholeResponse(methodKind: string, res: UniversalServerResponse): boolean {
  return methodKind === "unary" && res.trailer === undefined;
}

/**
 * Writes a complete unary response with one writeHead and one end. connect-node's
 * universalResponseToNodeResponse writes each chunk through a promise with
 * 'error' and 'drain' listeners and then waits for an 'end' event, a third of
 * a unary call's response cost under h2load. Returns false, writing nothing,
 * when the stream is already gone.
 */
export async function writeUnaryResponse(
  response: UniversalServerResponse,
  res: NodeResponse,
): Promise<boolean> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of (response.body ?? []) as AsyncIterable<Uint8Array>) chunks.push(chunk);
  if (isGone(res)) return false;
  const headers: Record<string, string | string[]> = {};
  response.header?.forEach((value, name) => {
    // Headers joins a repeated name into one value, except set-cookie, which it yields once per value.
    const earlier = headers[name];
    headers[name] = earlier === undefined ? value : [earlier, value].flat();
  });
  try {
    res.writeHead(response.status, headers);
    res.end(chunks.length === 1 ? (chunks[0] as Uint8Array) : Buffer.concat(chunks));
  } catch (error) {
    // The client reset the stream after the check above: nobody is left to answer.
    if (isGone(res)) return false;
    throw error;
  }
  return true;
}

/** The client can no longer be answered: the stream was reset or the response already ended. */
export function isGone(res: NodeResponse): boolean {
  // Node 20's Http2ServerResponse has neither `destroyed` nor `writableEnded`; a stream
  // closed by a reset is not destroyed until its last data is read.
  return "stream" in res ? res.stream.destroyed || res.stream.closed : res.destroyed || res.writableEnded;
}
