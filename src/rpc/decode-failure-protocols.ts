import type { DescMethod } from "@bufbuild/protobuf";
import { Code, ConnectError, type MethodImplSpec } from "@connectrpc/connect";
import {
  createAsyncIterable,
  encodeEnvelope,
  type ProtocolHandlerFactory,
  readAllBytes,
  type UniversalHandler,
  type UniversalServerRequest,
  type UniversalServerResponse,
} from "@connectrpc/connect/protocol";
import { codeToHttpStatus, errorFromJsonBytes, errorToJsonBytes } from "@connectrpc/connect/protocol-connect";
import { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { trailerFlag, trailerParse, trailerSerialize } from "@connectrpc/connect/protocol-grpc-web";
import { decodeFailureOf } from "./decode-failure.js";
import { toConnectError } from "./error-mapping.js";

/** Told about every unary request refused because its body could not be decoded (for the RPC log line). */
export type DecodeFailureListener = (
  method: DescMethod,
  request: UniversalServerRequest,
  error: ConnectError,
) => void;

type Rewrite = (
  res: UniversalServerResponse,
  precise: (found: ConnectError) => ConnectError | undefined,
) => Promise<UniversalServerResponse>;

const GRPC_STATUS = "grpc-status";
const GRPC_MESSAGE = "grpc-message";
const GRPC_DETAILS = "grpc-status-details-bin";
const INTERNAL = String(Code.Internal);

/**
 * connect-es decodes a unary request body before any interceptor runs and
 * answers one it cannot decode with `internal` ("parse binary: …"), a server
 * fault by the contract. This wraps a protocol's handler factory so that
 * answer becomes the error mapping's `invalid_argument`, naming the RPC, the
 * message type and the reason. Only failed responses are inspected: a
 * Connect unary error is an HTTP 500 with a small JSON body, a gRPC one a
 * trailer, a gRPC-web one a trailer frame that comes first when nothing else
 * was sent. Streaming requests are decoded inside the interceptors instead
 * (createDecodeFailureInterceptor).
 */
export function withPreciseDecodeFailures(
  factory: ProtocolHandlerFactory,
  onFailure: DecodeFailureListener,
): ProtocolHandlerFactory {
  const rewrite = REWRITES[factory.protocolName];
  const wrapped = (spec: MethodImplSpec): UniversalHandler => {
    const handler = factory(spec);
    if (spec.kind !== "unary" || rewrite === undefined) return handler;
    const method = spec.method;
    const precise = async (req: UniversalServerRequest) =>
      rewrite(await handler(req), (found) => {
        const failure = decodeFailureOf(method, found);
        if (failure === undefined) return undefined;
        const error = toConnectError(failure);
        onFailure(method, req, error);
        return error;
      });
    return Object.assign(precise, handler);
  };
  return Object.assign(wrapped, { protocolName: factory.protocolName });
}

const connectUnary: Rewrite = async (res, precise) => {
  // Decode failures are `internal`, always HTTP 500; a compressed body is not ours to read.
  if (res.status !== 500 || res.body === undefined) return res;
  const header = new Headers(res.header);
  if (header.has("content-encoding")) return res;
  const bytes = await readAllBytes(res.body, Number.MAX_SAFE_INTEGER);
  const found = errorFromJsonBytes(bytes, undefined, new ConnectError("", Code.Internal));
  const error = precise(found);
  if (error === undefined) return { ...res, body: createAsyncIterable([bytes]) };
  const body = errorToJsonBytes(error, {});
  error.metadata.forEach((value, key) => {
    header.set(key, value);
  });
  header.set("content-length", String(body.byteLength));
  return { ...res, status: codeToHttpStatus(error.code), header, body: createAsyncIterable([body]) };
};

const grpc: Rewrite = async (res, precise) => {
  // A unary request is decoded before the first response message, so its trailer is final here.
  if (res.trailer === undefined) return res;
  const trailer = res.trailer instanceof Headers ? res.trailer : new Headers(res.trailer);
  const found = trailerError(trailer);
  const error = found === undefined ? undefined : precise(found);
  if (error === undefined) return res;
  return { ...res, trailer: setTrailerStatus(withoutStatus(trailer), error) };
};

const grpcWeb: Rewrite = async (res, precise) => {
  if (res.body === undefined) return res;
  const iterator = res.body[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done === true) return { ...res, body: resumed(first, iterator) };
  const frame = first.value;
  // Only an uncompressed trailer frame (flags exactly 0x80) can carry the error.
  if (frame.byteLength < 5 || frame[0] !== trailerFlag) return { ...res, body: resumed(first, iterator) };
  const trailer = trailerParse(frame.subarray(5));
  const found = trailerError(trailer);
  const error = found === undefined ? undefined : precise(found);
  if (error === undefined) return { ...res, body: resumed(first, iterator) };
  const rewritten = encodeEnvelope(
    trailerFlag,
    trailerSerialize(setTrailerStatus(withoutStatus(trailer), error)),
  );
  return { ...res, body: resumed({ done: false, value: rewritten }, iterator) };
};

const REWRITES: Record<string, Rewrite> = { connect: connectUnary, grpc, "grpc-web": grpcWeb };

function trailerError(trailer: Headers): ConnectError | undefined {
  if (trailer.get(GRPC_STATUS) !== INTERNAL) return undefined;
  return new ConnectError(decodeURIComponent(trailer.get(GRPC_MESSAGE) ?? ""), Code.Internal);
}

function withoutStatus(trailer: Headers): Headers {
  const copy = new Headers(trailer);
  for (const name of [GRPC_STATUS, GRPC_MESSAGE, GRPC_DETAILS]) copy.delete(name);
  return copy;
}

/** The body again, with its already-read first result (like connect-es's untilFirst, keeping throw/return). */
function resumed(
  first: IteratorResult<Uint8Array>,
  iterator: AsyncIterator<Uint8Array>,
): AsyncIterable<Uint8Array> {
  let pending: IteratorResult<Uint8Array> | undefined = first;
  return {
    [Symbol.asyncIterator]: () => ({
      next: async () => {
        if (pending === undefined) return iterator.next();
        const result = pending;
        pending = undefined;
        return result;
      },
      throw: async (e?: unknown) => (iterator.throw === undefined ? Promise.reject(e) : iterator.throw(e)),
      return: async (value?: unknown) =>
        iterator.return === undefined ? { done: true, value } : iterator.return(value),
    }),
  };
}
