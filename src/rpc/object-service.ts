import { create } from "@bufbuild/protobuf";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { invalidField } from "../domain/errors.js";
import {
  type BoundaryService,
  type GetObjectRequest,
  type GetObjectResponse,
  GetObjectResponseSchema,
  type PutObjectRequest,
  type PutObjectResponse,
  PutObjectResponseSchema,
} from "../gen/bsfg/v1/boundary_pb.js";
import type { Artifacts } from "../use-cases/artifacts.js";
import { clampOffset } from "./clamp-offset.js";
import { toConnectError } from "./error-mapping.js";
import { principalKey } from "./principal.js";

/** PutObject (header, then chunks) and GetObject (info, then chunks) over the Artifacts use case. */
export type TransferObserver = (direction: "put" | "get", bytes: number, outcome: "ok" | "failed") => void;

export function createObjectHandlers(
  artifacts: Artifacts,
  observe: TransferObserver = () => {},
): Pick<ServiceImpl<typeof BoundaryService>, "putObject" | "getObject"> {
  async function putObject(
    requests: AsyncIterable<PutObjectRequest>,
    ctx: HandlerContext,
  ): Promise<PutObjectResponse> {
    try {
      const iterator = requests[Symbol.asyncIterator]();
      const first = await iterator.next();
      if (first.done === true || first.value.part.case !== "header") {
        throw invalidField("header", "the first PutObject message must carry the header");
      }
      const h = first.value.part.value;
      const result = await artifacts.put(
        ctx.values.get(principalKey),
        {
          bucket: h.bucket,
          key: h.key,
          mediaType: h.mediaType,
          ...(h.size !== undefined && { size: Number(h.size) }),
          ...(h.sha256 !== undefined && { sha256: h.sha256 }),
        },
        chunksOf(iterator),
      );
      observe("put", result.info.size, "ok");
      return create(PutObjectResponseSchema, {
        bucket: result.info.bucket,
        key: result.info.key,
        digest: result.info.digest,
        size: BigInt(result.info.size),
      });
    } catch (error) {
      observe("put", 0, "failed");
      throw toConnectError(error);
    }
  }

  async function* getObject(req: GetObjectRequest, ctx: HandlerContext): AsyncIterable<GetObjectResponse> {
    let object: Awaited<ReturnType<Artifacts["get"]>>;
    try {
      object = await artifacts.get(
        ctx.values.get(principalKey),
        req.bucket,
        req.key,
        clampOffset(req.offset),
      );
    } catch (error) {
      throw toConnectError(error);
    }
    const { info } = object;
    yield create(GetObjectResponseSchema, {
      part: {
        case: "info",
        value: {
          bucket: info.bucket,
          key: info.key,
          mediaType: info.mediaType,
          digest: info.digest,
          size: BigInt(info.size),
        },
      },
    });
    let sent = 0;
    try {
      // Each chunk is pulled from JetStream only after the previous one was written to the client.
      for await (const chunk of object.chunks) {
        sent += chunk.length;
        yield create(GetObjectResponseSchema, { part: { case: "chunk", value: chunk } });
      }
      observe("get", sent, "ok");
    } catch (error) {
      observe("get", sent, "failed");
      throw toConnectError(error);
    }
  }

  return { putObject, getObject };
}

async function* chunksOf(iterator: AsyncIterator<PutObjectRequest>): AsyncIterable<Uint8Array> {
  for (let next = await iterator.next(); next.done !== true; next = await iterator.next()) {
    if (next.value.part.case !== "chunk")
      throw invalidField("header", "only the first PutObject message may carry a header");
    yield next.value.part.value;
  }
}
