import type { DescMethod } from "@bufbuild/protobuf";
import type { Interceptor } from "@connectrpc/connect";
import { decodeFailureOf } from "./decode-failure.js";

/**
 * Streaming requests are decoded message by message while the handler reads
 * them, inside the interceptors: this turns a message that cannot be decoded
 * into `invalid_input` before handlers, use cases or adapters see it (they
 * would otherwise report it as an unexpected internal error). Unary bodies are
 * decoded before any interceptor runs; see withPreciseDecodeFailures.
 */
export function createDecodeFailureInterceptor(): Interceptor {
  return (next) => async (req) => {
    if (!req.stream) return next(req);
    return next({ ...req, message: translated(req.method, req.message) });
  };
}

async function* translated<T>(method: DescMethod, messages: AsyncIterable<T>): AsyncIterable<T> {
  try {
    yield* messages;
  } catch (error) {
    throw decodeFailureOf(method, error) ?? error;
  }
}
