import { create } from "@bufbuild/protobuf";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { isDomainError } from "../domain/errors.js";
import {
  type AppendFactRequest,
  type AppendFactResponse,
  AppendFactResponseSchema,
  type AppendFactsRequest,
  type AppendFactsResponse,
  AppendFactsResponseSchema,
  AppendFactsResultSchema,
  type BoundaryService,
  type ConfirmReceiptRequest,
  type ConfirmReceiptResponse,
  ConfirmReceiptResponseSchema,
  type FetchFactsRequest,
  type FetchFactsResponse,
  FetchFactsResponseSchema,
} from "../gen/bsfg/v1/boundary_pb.js";
import type { AppendFacts } from "../use-cases/append-facts.js";
import type { Artifacts } from "../use-cases/artifacts.js";
import type { ConsumerReads } from "../use-cases/consumer-reads.js";
import type { AppendMetrics } from "./append-metrics.js";
import { clampOffset } from "./clamp-offset.js";
import { CODE_BY_KIND, codeName, toConnectError } from "./error-mapping.js";
import { toAppendRequest } from "./fact-mapping.js";
import { createObjectHandlers, type TransferObserver } from "./object-service.js";
import { principalKey } from "./principal.js";
import { toStoredFactMessage } from "./stored-fact-mapping.js";
import { isBinaryProto, recordsAsUnknownFields } from "./stored-records-wire.js";
import { withEitherSignal } from "./with-either-signal.js";

export interface BoundaryServiceDeps {
  readonly appendFacts: AppendFacts;
  readonly consumerReads: ConsumerReads;
  readonly artifacts: Artifacts;
  readonly metrics: AppendMetrics;
  /** Aborted when the node starts draining: parked long-polls answer at once. */
  readonly drainSignal: AbortSignal;
  readonly onTransfer?: TransferObserver;
}

/**
 * bsfg.v1.BoundaryService: proto ↔ domain translation around the use cases.
 * Methods a node does not serve yet are left out, and Connect answers them `unimplemented`.
 */
export function createBoundaryService(
  deps: BoundaryServiceDeps,
): Partial<ServiceImpl<typeof BoundaryService>> {
  const { appendFacts, consumerReads, metrics } = deps;

  async function fetchFacts(req: FetchFactsRequest, ctx: HandlerContext): Promise<FetchFactsResponse> {
    try {
      const principal = ctx.values.get(principalKey);
      const after = req.afterOffset === undefined ? undefined : clampOffset(req.afterOffset);
      if (req.storedRecords) {
        const { records, cursor } = await withEitherSignal(ctx.signal, deps.drainSignal, (signal) =>
          consumerReads.fetchRecords(principal, req.consumerName, req.limit, req.waitMs, signal, after),
        );
        if (isBinaryProto(ctx.requestHeader.get("content-type"))) {
          const res = create(FetchFactsResponseSchema, { cursor: BigInt(cursor) });
          res.$unknown = recordsAsUnknownFields(records);
          return res;
        }
        return create(FetchFactsResponseSchema, {
          records: records.map((r) => ({ offset: BigInt(r.offset), json: r.bytes })),
          cursor: BigInt(cursor),
        });
      }
      const { facts, cursor } = await withEitherSignal(ctx.signal, deps.drainSignal, (signal) =>
        consumerReads.fetch(principal, req.consumerName, req.limit, req.waitMs, signal, after),
      );
      return create(FetchFactsResponseSchema, {
        facts: facts.map(toStoredFactMessage),
        cursor: BigInt(cursor),
      });
    } catch (error) {
      throw toConnectError(error);
    }
  }

  async function confirmReceipt(
    req: ConfirmReceiptRequest,
    ctx: HandlerContext,
  ): Promise<ConfirmReceiptResponse> {
    try {
      const offset = clampOffset(req.offset);
      const cursor = await consumerReads.confirm(ctx.values.get(principalKey), req.consumerName, offset);
      return create(ConfirmReceiptResponseSchema, { cursorAdvancedTo: BigInt(cursor) });
    } catch (error) {
      throw toConnectError(error);
    }
  }

  async function appendFact(req: AppendFactRequest, ctx: HandlerContext): Promise<AppendFactResponse> {
    const started = performance.now();
    metrics.request("AppendFact", 1);
    try {
      const result = await appendFacts.appendOne(
        ctx.values.get(principalKey),
        toAppendRequest(req),
        ctx.signal,
      );
      return create(AppendFactResponseSchema, {
        offset: BigInt(result.offset),
        category: result.category,
        duplicate: result.duplicate,
      });
    } catch (error) {
      const connectError = toConnectError(error);
      metrics.failure("AppendFact", codeName(connectError.code), 1);
      throw connectError;
    } finally {
      metrics.latency("AppendFact", (performance.now() - started) / 1000);
    }
  }

  async function appendFactsBatch(
    req: AppendFactsRequest,
    ctx: HandlerContext,
  ): Promise<AppendFactsResponse> {
    const started = performance.now();
    metrics.request("AppendFacts", req.items.length);
    try {
      const results = await appendFacts.appendMany(
        ctx.values.get(principalKey),
        req.items.map(toAppendRequest),
        ctx.signal,
      );
      return create(AppendFactsResponseSchema, {
        results: results.map((r, i) => {
          if (!isDomainError(r)) {
            return create(AppendFactsResultSchema, {
              outcome: {
                case: "ok",
                value: create(AppendFactResponseSchema, {
                  offset: BigInt(r.offset),
                  category: r.category,
                  duplicate: r.duplicate,
                }),
              },
            });
          }
          const code = codeName(CODE_BY_KIND[r.kind]);
          metrics.failure("AppendFacts", code, 1);
          return create(AppendFactsResultSchema, {
            outcome: {
              case: "error",
              value: {
                code,
                message: `items[${i}].${r.message}`,
                existingOffset: BigInt(r.details.existingOffset ?? 0),
                existingCategory: r.details.existingCategory ?? "",
              },
            },
          });
        }),
      });
    } catch (error) {
      const connectError = toConnectError(error);
      metrics.failure("AppendFacts", codeName(connectError.code), req.items.length);
      throw connectError;
    } finally {
      metrics.latency("AppendFacts", (performance.now() - started) / 1000);
    }
  }

  return {
    appendFact,
    appendFacts: appendFactsBatch,
    fetchFacts,
    confirmReceipt,
    ...createObjectHandlers(deps.artifacts, deps.onTransfer),
  };
}
