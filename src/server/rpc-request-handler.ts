import http2 from "node:http2";
import type { DescMethod } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type ContextValues,
  createMethodImplSpec,
  createServiceImplSpec,
} from "@connectrpc/connect";
import {
  createUniversalMethodHandler,
  createUniversalServiceHandlers,
  type UniversalHandler,
  type UniversalHandlerOptions,
  type UniversalServerRequest,
} from "@connectrpc/connect/protocol";
import { createHandlerFactory as connectProtocol } from "@connectrpc/connect/protocol-connect";
import { createHandlerFactory as grpcProtocol } from "@connectrpc/connect/protocol-grpc";
import { createHandlerFactory as grpcWebProtocol } from "@connectrpc/connect/protocol-grpc-web";
import {
  compressionBrotli,
  compressionGzip,
  universalRequestFromNodeRequest,
  universalResponseToNodeResponse,
} from "@connectrpc/connect-node";
import { type DecodeFailureListener, withPreciseDecodeFailures } from "../rpc/decode-failure-protocols.js";
import type { NodeRouter } from "../rpc/routes.js";
import { isBinaryProto } from "../rpc/stored-records-wire.js";
import { type H2UniversalRequest, universalRequestFromH2 } from "./h2-universal-request.js";
import type { Admission } from "./request-budget.js";
import { isGone, isWholeResponse, type NodeResponse, writeUnaryResponse } from "./write-unary-response.js";

type NodeRequest = Parameters<typeof universalRequestFromNodeRequest>[0];

export interface RpcRequestHandlerOptions {
  readonly routes: (router: NodeRouter) => void;
  /** Interceptors, message limits, compression: the same options connect-es handlers take. */
  readonly handler: Partial<UniversalHandlerOptions>;
  readonly contextValues: (req: NodeRequest) => ContextValues;
  readonly onDecodeFailure: DecodeFailureListener;
  /** Admission for each request for a known method: its body is metered, its share released when it is over. */
  readonly admit?: () => Admission;
  /** Sees each request for a known method before connect-es does (to guard it). */
  readonly beforeDispatch?: (req: NodeRequest, method: DescMethod) => void;
  /** A response that could not be written (not a failed RPC: those are answered to the client). */
  readonly onWriteFailure: (method: DescMethod, reason: unknown) => void;
}

/**
 * What connect-node's connectNodeAdapter does (route by path, 404 otherwise,
 * Connect + gRPC + gRPC-web on every method), with each protocol wrapped so a
 * body connect-es cannot decode is answered `invalid_argument` rather than
 * `internal` (withPreciseDecodeFailures): connect-es has no option for that.
 * HTTP/2 requests and complete unary responses skip connect-node's per-call
 * conversions (universalRequestFromH2, writeUnaryResponse): they were about an
 * eighth of a node's CPU per unary call.
 * Per-service handler options given to `router.service` are not supported.
 */
export function createRpcRequestHandler(
  options: RpcRequestHandlerOptions,
): (req: NodeRequest, res: NodeResponse) => void {
  const handlerOptions = { acceptCompression: [compressionGzip, compressionBrotli], ...options.handler };
  const protocols = [
    grpcProtocol(handlerOptions),
    grpcWebProtocol(handlerOptions),
    connectProtocol(handlerOptions),
  ].map((factory) => withPreciseDecodeFailures(factory, options.onDecodeFailure));
  const handlers: UniversalHandler[] = [];
  const binaryHandlers: UniversalHandler[] = [];
  const router: NodeRouter = {
    handlers,
    service(service, implementation) {
      handlers.push(
        ...createUniversalServiceHandlers(createServiceImplSpec(service, implementation), protocols),
      );
      return router;
    },
    rpc(method, implementation) {
      handlers.push(createUniversalMethodHandler(createMethodImplSpec(method, implementation), protocols));
      return router;
    },
    binaryView(method, implementation) {
      binaryHandlers.push(
        createUniversalMethodHandler(createMethodImplSpec(method, implementation), protocols),
      );
      return router;
    },
  };
  options.routes(router);
  const paths = new Map(handlers.map((h) => [h.requestPath, h]));
  const binaryPaths = new Map(binaryHandlers.map((h) => [h.requestPath, h]));
  for (const path of binaryPaths.keys())
    if (!paths.has(path)) throw new Error(`binary view of ${path}, which is not a route`);

  return (req, res) => {
    const path = req.url?.split("?", 2)[0] ?? "";
    const handler =
      (binaryPaths.has(path) && isBinaryProto(req.headers["content-type"] ?? null)
        ? binaryPaths.get(path)
        : undefined) ?? paths.get(path);
    if (handler === undefined) {
      res.writeHead(404);
      res.end();
      return;
    }
    options.beforeDispatch?.(req, handler.method);
    const contextValues = options.contextValues(req);
    let h2: H2UniversalRequest | undefined;
    let uReq: UniversalServerRequest;
    try {
      // HTTP/1.1 (curl) keeps connect-node's conversion; HTTP/2 is the hot path.
      h2 = "stream" in req ? universalRequestFromH2(req, contextValues) : undefined;
      uReq = h2?.request ?? universalRequestFromNodeRequest(req, res, undefined, contextValues);
    } catch {
      // connect-node throws for an HTTP/1.x request without a usable Host; thrown
      // from this listener it would end the process.
      res.writeHead(400);
      res.end();
      return;
    }
    const admission = options.admit?.();
    // Not when universalResponseToNodeResponse settles: it waits for an 'end' event Node's
    // responses never emit. 'close' comes once the response is done or the stream is gone.
    if (admission !== undefined) res.once("close", () => admission.release());
    const body = uReq.body as AsyncIterable<Uint8Array>;
    handler(admission === undefined ? uReq : { ...uReq, body: admission.meter(body) })
      .then(async (uRes) => {
        if (!isWholeResponse(handler.method.methodKind, uRes))
          return universalResponseToNodeResponse(uRes, res);
        await writeUnaryResponse(uRes, res);
        // The handler is done and connect-es has let go of the request's signal.
        h2?.settle();
      })
      .catch((reason: unknown) => {
        abandon(res);
        // The client went away: nothing to tell anyone.
        if (ConnectError.from(reason).code === Code.Aborted) return;
        options.onWriteFailure(handler.method, reason);
      });
  };
}

/** Ends a response that could not be completed, so its client does not wait out its deadline. */
function abandon(res: NodeResponse): void {
  if (isGone(res)) return;
  if ("stream" in res) res.stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
  else res.destroy();
}
