import type { ValidatedAppend } from "./fact-validation.js";

/**
 * The bytes idempotency compares: category, fact and the envelope core.
 * `produced_at_unix_ms` is left out on purpose: a producer that re-stamps the
 * time on retry is still retrying the same fact, and gets the original back.
 *
 * Written out by hand in RFC 8785 form, keys already in order, because it
 * runs for every appended fact and the general canonicaliser (which sorts
 * each object's keys and recurses) cost ~4 µs of it. RFC 8785 serialises a
 * string exactly as JSON.stringify does, which is also what the canonicaliser
 * calls; fact-digest.test.ts holds the result to the canonicaliser's, byte
 * for byte. object_json is itself canonical JSON (no lone surrogates), so it
 * is quoted as it is rather than canonicalised again.
 */
export function digestInput(append: ValidatedAppend): string {
  const { envelope: e, fact } = append;
  const q = JSON.stringify;
  return (
    `{"category":${q(append.category)},"envelope":{"causation_id":${q(e.causationId)},` +
    `"correlation_id":${q(e.correlationId)},"from_zone":${q(e.fromZone)},"labels":${labelsJson(e.labels)},` +
    `"message_id":${q(e.messageId)},"object_media_type":${q(e.objectMediaType)},` +
    `"object_schema":${q(e.objectSchema)},"to_zone":${q(e.toZone)}},` +
    `"fact":{"object_json":${q(fact.objectJson)},"predicate":${q(fact.predicate)},"subject":${q(fact.subject)}}}`
  );
}

/** Keys sorted by UTF-16 code units, as RFC 8785 orders them (and Array.prototype.sort does). */
function labelsJson(labels: Readonly<Record<string, string>>): string {
  const keys = Object.keys(labels).sort();
  let out = "{";
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    out += `${i === 0 ? "" : ","}${JSON.stringify(key)}:${JSON.stringify(labels[key])}`;
  }
  return `${out}}`;
}
