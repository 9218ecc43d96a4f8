import type { DescMethodUnary } from "@bufbuild/protobuf";
import { FetchFactsResponseViewSchema } from "../../gen/bsfg/internal/v1/fetch_facts_view_pb.js";
import { BoundaryService, type FetchFactsRequestSchema } from "../../gen/bsfg/v1/boundary_pb.js";

/**
 * bsfg.v1.BoundaryService/FetchFacts with its answer read as
 * FetchFactsResponseView: the records stay bytes until each is read with
 * `readStoredRecord`, instead of protobuf-es building a message (and its
 * reflection state) per record, ~1 KB of young-generation garbage per fact
 * through a drain (V8's sampling heap profiler). Same path, same request,
 * same wire.
 */
export const FETCH_FACTS_VIEW: DescMethodUnary<
  typeof FetchFactsRequestSchema,
  typeof FetchFactsResponseViewSchema
> = { ...BoundaryService.method.fetchFacts, output: FetchFactsResponseViewSchema };
