import { toCanonicalJson } from "./canonical-json.js";
import { DomainError, invalidField } from "./errors.js";
import type { AppendRequest, Envelope, Fact } from "./fact.js";
import { resolveCategory, type ZonePolicy } from "./zone-policy.js";

export interface FactLimits {
  /** Maximum size of `fact.object_json` in UTF-16 code units (≈ bytes for ASCII JSON). */
  readonly maxObjectJsonBytes: number;
  readonly maxJsonDepth: number;
  readonly maxLabels: number;
}

export const MESSAGE_ID_PATTERN = /^[A-Za-z0-9._:~-]{1,128}$/;
const SUBJECT_PATTERN = /^([a-z][a-z0-9_-]{0,63}):(?:([^\s/:][^\s/]{0,127})\/)?([^\s][^\s]{0,255})$/;
const PREDICATE_PATTERN = /^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$/;
const LABEL_KEY_PATTERN = /^[a-z0-9]([a-z0-9._/-]{0,61}[a-z0-9])?$/;
const MEDIA_TYPE_PATTERN = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/i;
const CORRELATION_PATTERN = /^[\x21-\x7e]{0,128}$/;

export interface ValidatedAppend {
  readonly category: string;
  readonly subjectKind: string;
  readonly envelope: Envelope;
  readonly fact: Fact;
}

/**
 * Checks every field of an append and returns the canonical content.
 * Throws `invalid_input` naming the field, or `permission_denied` for a
 * `from_zone` the caller may not assert. Authorization of the principal is
 * the caller's job because it needs the resolved category.
 */
export function validateAppend(
  request: AppendRequest,
  policy: ZonePolicy,
  limits: FactLimits,
): ValidatedAppend {
  const { envelope, fact } = request;
  if (envelope === undefined) throw invalidField("envelope", "is required");
  if (fact === undefined) throw invalidField("fact", "is required");

  if (!MESSAGE_ID_PATTERN.test(envelope.messageId)) {
    throw invalidField(
      "envelope.message_id",
      envelope.messageId === "" ? "is required" : "must be 1–128 characters of [A-Za-z0-9._:~-]",
    );
  }
  if (envelope.fromZone === "") throw invalidField("envelope.from_zone", "is required");
  if (envelope.fromZone !== policy.zone) {
    throw new DomainError(
      "permission_denied",
      `envelope.from_zone: this node serves zone "${policy.zone}"; a producer may not assert "${envelope.fromZone}"`,
      { field: "envelope.from_zone" },
    );
  }
  if (envelope.toZone === "") throw invalidField("envelope.to_zone", "is required");
  const peer = policy.peers.get(envelope.toZone);
  if (peer === undefined) {
    throw invalidField(
      "envelope.to_zone",
      `"${envelope.toZone}" is not a configured peer of zone "${policy.zone}"`,
    );
  }
  if (!Number.isSafeInteger(envelope.producedAtUnixMs) || envelope.producedAtUnixMs <= 0) {
    throw invalidField("envelope.produced_at_unix_ms", "must be a positive Unix time in milliseconds");
  }
  if (!CORRELATION_PATTERN.test(envelope.correlationId)) {
    throw invalidField("envelope.correlation_id", "must be at most 128 printable ASCII characters");
  }
  if (!CORRELATION_PATTERN.test(envelope.causationId)) {
    throw invalidField("envelope.causation_id", "must be at most 128 printable ASCII characters");
  }
  validateLabels(envelope.labels, limits.maxLabels);
  if (envelope.objectMediaType !== "" && !MEDIA_TYPE_PATTERN.test(envelope.objectMediaType)) {
    throw invalidField("envelope.object_media_type", "must be a media type such as application/pdf");
  }
  if (envelope.objectSchema.length > 256) {
    throw invalidField("envelope.object_schema", "must be at most 256 characters");
  }

  const subject = SUBJECT_PATTERN.exec(fact.subject);
  if (subject === null) {
    throw invalidField(
      "fact.subject",
      fact.subject === ""
        ? "is required"
        : 'must be "kind:id" or "kind:scope/id" with a lower-case kind and no whitespace',
    );
  }
  const subjectKind = subject[1] as string;
  if (!PREDICATE_PATTERN.test(fact.predicate) || fact.predicate.length > 128) {
    throw invalidField(
      "fact.predicate",
      fact.predicate === "" ? "is required" : "must be lower_snake_case, at most 128 characters",
    );
  }
  if (fact.objectJson === "") throw invalidField("fact.object_json", "is required (any JSON value, e.g. {})");
  if (fact.objectJson.length > limits.maxObjectJsonBytes) {
    throw new DomainError(
      "too_large",
      `fact.object_json: ${fact.objectJson.length} bytes exceeds the limit of ${limits.maxObjectJsonBytes}`,
      { field: "fact.object_json" },
    );
  }
  const objectJson = toCanonicalJson(fact.objectJson, "fact.object_json", limits.maxJsonDepth);
  if (envelope.objectMediaType !== "") validateArtifactReference(objectJson);

  if (request.category !== "" && !policy.categories.has(request.category)) {
    throw invalidField("category", `unknown category "${request.category}"`);
  }
  const category = resolveCategory(policy, request.category, subjectKind);
  if (!peer.exports.has(category)) {
    throw invalidField(
      "envelope.to_zone",
      `peer "${peer.zone}" is not configured to receive category "${category}" (add it to the peer's export list)`,
    );
  }

  return {
    category,
    subjectKind,
    envelope,
    fact: { subject: fact.subject, predicate: fact.predicate, objectJson },
  };
}

function validateLabels(labels: Readonly<Record<string, string>>, maxLabels: number): void {
  const keys = Object.keys(labels);
  if (keys.length > maxLabels)
    throw invalidField("envelope.labels", `at most ${maxLabels} labels are allowed`);
  for (const key of keys) {
    if (!LABEL_KEY_PATTERN.test(key)) {
      throw invalidField(
        `envelope.labels[${JSON.stringify(key)}]`,
        "key must be 1–63 characters of [a-z0-9._/-]",
      );
    }
    const value = labels[key] as string;
    if (value.length > 256) {
      throw invalidField(`envelope.labels[${JSON.stringify(key)}]`, "value must be at most 256 characters");
    }
  }
}

/** A referencing fact must say exactly which bytes it points at (ARCHITECTURE §3). */
function validateArtifactReference(canonicalJson: string): void {
  const ref = JSON.parse(canonicalJson) as unknown;
  const field = "fact.object_json";
  if (typeof ref !== "object" || ref === null || Array.isArray(ref)) {
    throw invalidField(
      field,
      "must be an object {bucket, key, digest, size} when envelope.object_media_type is set",
    );
  }
  const r = ref as Record<string, unknown>;
  if (typeof r.bucket !== "string" || r.bucket === "")
    throw invalidField(`${field}.bucket`, "must be a bucket name");
  if (typeof r.key !== "string" || r.key === "") throw invalidField(`${field}.key`, "must be an object key");
  if (typeof r.digest !== "string" || !/^sha256:[0-9a-f]{64}$/.test(r.digest)) {
    throw invalidField(`${field}.digest`, 'must be "sha256:<64 lower-case hex digits>"');
  }
  if (typeof r.size !== "number" || !Number.isSafeInteger(r.size) || r.size < 0) {
    throw invalidField(`${field}.size`, "must be a non-negative integer");
  }
}
