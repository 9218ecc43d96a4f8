import type { Interceptor } from "@connectrpc/connect";
import { DomainError } from "../domain/errors.js";

/**
 * While the node drains, new RPCs on already-open connections are answered
 * `unavailable` (retry elsewhere) instead of being cut off by the HTTP/2
 * GOAWAY that follows; RPCs already inside a handler run to completion.
 */
export function createDrainInterceptor(isDraining: () => boolean): Interceptor {
  return (next) => async (req) => {
    if (isDraining())
      throw new DomainError("shutting_down", "node is draining; retry later or on another node");
    return next(req);
  };
}
