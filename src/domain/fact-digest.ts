import canonicalize from "canonicalize";
import type { ValidatedAppend } from "./fact-validation.js";

/**
 * The bytes idempotency compares: category, fact and the envelope core.
 * `produced_at_unix_ms` is left out on purpose: a producer that re-stamps the
 * time on retry is still retrying the same fact, and gets the original back.
 */
export function digestInput(append: ValidatedAppend): string {
  const { envelope, fact } = append;
  const envelopeJson = canonicalize({
    message_id: envelope.messageId,
    from_zone: envelope.fromZone,
    to_zone: envelope.toZone,
    correlation_id: envelope.correlationId,
    causation_id: envelope.causationId,
    labels: envelope.labels,
    object_media_type: envelope.objectMediaType,
    object_schema: envelope.objectSchema,
  });
  // The RFC 8785 form of {category, envelope, fact}, with the keys already in
  // order. object_json is itself canonical JSON (no lone surrogates), so plain
  // JSON.stringify gives its canonical string; running the canonicaliser over
  // it again would scan up to a MiB per fact for nothing.
  return (
    `{"category":${canonicalize(append.category)},"envelope":${envelopeJson},` +
    `"fact":{"object_json":${JSON.stringify(fact.objectJson)},"predicate":${canonicalize(fact.predicate)},` +
    `"subject":${canonicalize(fact.subject)}}}`
  );
}
