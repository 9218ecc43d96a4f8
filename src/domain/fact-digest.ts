import canonicalize from "canonicalize";
import type { ValidatedAppend } from "./fact-validation.js";

/**
 * The bytes idempotency compares: category, fact and the envelope core.
 * `produced_at_unix_ms` is left out on purpose: a producer that re-stamps the
 * time on retry is still retrying the same fact, and gets the original back.
 */
export function digestInput(append: ValidatedAppend): string {
  const { envelope, fact } = append;
  return (
    canonicalize({
      category: append.category,
      envelope: {
        message_id: envelope.messageId,
        from_zone: envelope.fromZone,
        to_zone: envelope.toZone,
        correlation_id: envelope.correlationId,
        causation_id: envelope.causationId,
        labels: envelope.labels,
        object_media_type: envelope.objectMediaType,
        object_schema: envelope.objectSchema,
      },
      fact: { subject: fact.subject, predicate: fact.predicate, object_json: fact.objectJson },
    }) ?? ""
  );
}
