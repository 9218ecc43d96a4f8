import type { DescMethodUnary } from "@bufbuild/protobuf";
import { AppendFactsRequestViewSchema } from "../gen/bsfg/internal/v1/append_facts_view_pb.js";
import { type AppendFactsResponseSchema, BoundaryService } from "../gen/bsfg/v1/boundary_pb.js";

/**
 * bsfg.v1.BoundaryService/AppendFacts with its binary requests read as
 * AppendFactsRequestView: each item stays bytes until `readAppendRequest`
 * reads it into the domain's AppendRequest. Same path, same wire; JSON
 * requests are read by the method itself.
 */
export const APPEND_FACTS_VIEW: DescMethodUnary<
  typeof AppendFactsRequestViewSchema,
  typeof AppendFactsResponseSchema
> = { ...BoundaryService.method.appendFacts, input: AppendFactsRequestViewSchema };
