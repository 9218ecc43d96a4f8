import { create } from "@bufbuild/protobuf";
import type { HandlerContext, MethodImpl, ServiceImpl } from "@connectrpc/connect";
import { type DomainError, isDomainError } from "../domain/errors.js";
import type { AppendRequest } from "../domain/fact.js";
import type { AppendFactsRequestView } from "../gen/bsfg/internal/v1/append_facts_view_pb.js";
import {
  type AppendFactRequest,
  type AppendFactResponse,
  AppendFactResponseSchema,
  type AppendFactsRequest,
  AppendFactsRequestSchema,
  type AppendFactsResponse,
  AppendFactsResponseSchema,
  type AppendFactsResult,
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
import type { APPEND_FACTS_VIEW } from "./append-facts-view.js";
import type { AppendMetrics } from "./append-metrics.js";
import { readAppendRequest } from "./append-request-wire.js";
import {
  type ItemError,
  type ItemOutcome,
  isItemError,
  resultsAsUnknownFields,
} from "./append-results-wire.js";
import { clampOffset } from "./clamp-offset.js";
import { undecodableBody } from "./decode-failure.js";
import { CODE_BY_KIND, codeName, toConnectError } from "./error-mapping.js";
import { toAppendRequest } from "./fact-mapping.js";
import { createObjectHandlers, type TransferObserver } from "./object-service.js";
import { principalKey } from "./principal.js";
import { toStoredFactMessage } from "./stored-fact-mapping.js";
import { isBinaryProto, recordsAsUnknownFields } from "./stored-records-wire.js";
import { WireFormatError } from "./wire-reader.js";
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

export interface BoundaryHandlers {
  readonly service: Partial<ServiceImpl<typeof BoundaryService>>;
  /** AppendFacts for binary requests, read and answered by hand (APPEND_FACTS_VIEW). */
  readonly appendFactsView: MethodImpl<typeof APPEND_FACTS_VIEW>;
}

/**
 * bsfg.v1.BoundaryService: proto ↔ domain translation around the use cases.
 * Methods a node does not serve yet are left out, and Connect answers them `unimplemented`.
 */
export function createBoundaryService(deps: BoundaryServiceDeps): BoundaryHandlers {
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

  /**
   * One AppendFacts call, however its request was read: `requests` decodes the
   * items (all of them, before anything is stored) and `answer` encodes the
   * outcomes.
   */
  async function appendBatch<T>(
    count: number,
    ctx: HandlerContext,
    requests: () => AppendRequest[],
    answer: (outcomes: ItemOutcome[]) => T,
  ): Promise<T> {
    const started = performance.now();
    metrics.request("AppendFacts", count);
    try {
      const results = await appendFacts.appendMany(ctx.values.get(principalKey), requests(), ctx.signal);
      return answer(results.map((r, i) => (isDomainError(r) ? itemError(r, i) : r)));
    } catch (error) {
      const connectError = toConnectError(error);
      metrics.failure("AppendFacts", codeName(connectError.code), count);
      throw connectError;
    } finally {
      metrics.latency("AppendFacts", (performance.now() - started) / 1000);
    }
  }

  function itemError(error: DomainError, index: number): ItemError {
    const code = codeName(CODE_BY_KIND[error.kind]);
    metrics.failure("AppendFacts", code, 1);
    return {
      code,
      message: `items[${index}].${error.message}`,
      existingOffset: error.details.existingOffset ?? 0,
      existingCategory: error.details.existingCategory ?? "",
    };
  }

  const appendFactsBatch = (req: AppendFactsRequest, ctx: HandlerContext): Promise<AppendFactsResponse> =>
    appendBatch(
      req.items.length,
      ctx,
      () => req.items.map(toAppendRequest),
      (outcomes) => create(AppendFactsResponseSchema, { results: outcomes.map(toResultMessage) }),
    );

  const appendFactsView = (req: AppendFactsRequestView, ctx: HandlerContext): Promise<AppendFactsResponse> =>
    appendBatch(
      req.items.length,
      ctx,
      () => req.items.map(readItem),
      (outcomes) => {
        const res = create(AppendFactsResponseSchema);
        res.$unknown = resultsAsUnknownFields(outcomes);
        return res;
      },
    );

  return {
    service: {
      appendFact,
      appendFacts: appendFactsBatch,
      fetchFacts,
      confirmReceipt,
      ...createObjectHandlers(deps.artifacts, deps.onTransfer),
    },
    appendFactsView,
  };
}

function toResultMessage(outcome: ItemOutcome): AppendFactsResult {
  if (isItemError(outcome))
    return create(AppendFactsResultSchema, {
      outcome: { case: "error", value: { ...outcome, existingOffset: BigInt(outcome.existingOffset) } },
    });
  return create(AppendFactsResultSchema, {
    outcome: {
      case: "ok",
      value: {
        offset: BigInt(outcome.offset),
        category: outcome.category,
        duplicate: outcome.duplicate,
      },
    },
  });
}

/** An item of a binary AppendFacts request, read by hand (AppendFactsRequestView). */
function readItem(item: Uint8Array, index: number): AppendRequest {
  try {
    return readAppendRequest(item);
  } catch (error) {
    if (!(error instanceof WireFormatError)) throw error;
    throw undecodableBody(
      "AppendFacts",
      AppendFactsRequestSchema.typeName,
      `items[${index}]${error.field}: ${error.reason}`,
      error,
    );
  }
}
