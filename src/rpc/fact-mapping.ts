import type { AppendRequest } from "../domain/fact.js";
import type { AppendFactRequest } from "../gen/bsfg/v1/boundary_pb.js";

/** Proto → domain; the only place both shapes meet. Missing messages stay undefined for validation to name. */
export function toAppendRequest(req: AppendFactRequest): AppendRequest {
  const e = req.envelope;
  const f = req.fact;
  return {
    category: req.category,
    envelope:
      e === undefined
        ? undefined
        : {
            messageId: e.messageId,
            fromZone: e.fromZone,
            toZone: e.toZone,
            producedAtUnixMs: Number(e.producedAtUnixMs),
            correlationId: e.correlationId,
            causationId: e.causationId,
            labels: e.labels,
            objectMediaType: e.objectMediaType,
            objectSchema: e.objectSchema,
          },
    fact:
      f === undefined ? undefined : { subject: f.subject, predicate: f.predicate, objectJson: f.objectJson },
  };
}
