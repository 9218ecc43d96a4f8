import { isUtf8 } from "node:buffer";
import { DomainError } from "../../domain/errors.js";
import type { FactRecord, StoredFact } from "../../domain/fact.js";

/**
 * UTF-8 through Buffer rather than TextEncoder/TextDecoder: about twice as
 * fast on fact-sized strings (measured 0.6–0.7 vs 1.5–1.6 µs for a 765-byte
 * fact), and small encodings come from Node's pooled allocator instead of
 * one ArrayBuffer each. Every stored fact goes through here once.
 */
function utf8Bytes(text: string): Uint8Array {
  return Buffer.from(text, "utf8");
}

function utf8Text(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8");
}

/** Stored JSON with proto field names, so `nats stream view` is readable by an operator. */
interface StoredJson {
  v: 1;
  category: string;
  subject_kind: string;
  digest: string;
  stored_at_unix_ms: number;
  envelope: {
    message_id: string;
    from_zone: string;
    to_zone: string;
    produced_at_unix_ms: number;
    correlation_id: string;
    causation_id: string;
    labels: Record<string, string>;
    object_media_type: string;
    object_schema: string;
  };
  fact: { subject: string; predicate: string; object_json: string };
}

export function encodeFact(record: FactRecord): Uint8Array {
  return utf8Bytes(JSON.stringify(storedJson(record)));
}

function storedJson(record: FactRecord, storedAtUnixMs = record.storedAtUnixMs): StoredJson {
  const { envelope: e, fact: f } = record;
  return {
    v: 1,
    category: record.category,
    subject_kind: record.subjectKind,
    digest: record.digest,
    stored_at_unix_ms: storedAtUnixMs,
    envelope: {
      message_id: e.messageId,
      from_zone: e.fromZone,
      to_zone: e.toZone,
      produced_at_unix_ms: e.producedAtUnixMs,
      correlation_id: e.correlationId,
      causation_id: e.causationId,
      labels: { ...e.labels },
      object_media_type: e.objectMediaType,
      object_schema: e.objectSchema,
    },
    fact: { subject: f.subject, predicate: f.predicate, object_json: f.objectJson },
  };
}

export function decodeFact(
  data: Uint8Array,
  /** Already parsed from `data`. */
  parsed?: StoredJson,
): FactRecord {
  const json = parsed ?? parseStored(data);
  return {
    category: json.category,
    subjectKind: json.subject_kind,
    digest: json.digest,
    storedAtUnixMs: json.stored_at_unix_ms,
    envelope: envelopeOf(json.envelope),
    fact: factOf(json.fact),
  };
}

function parseStored(data: Uint8Array): StoredJson {
  return JSON.parse(utf8Text(data)) as StoredJson;
}

function envelopeOf(e: StoredJson["envelope"]): FactRecord["envelope"] {
  return {
    messageId: e.message_id,
    fromZone: e.from_zone,
    toZone: e.to_zone,
    producedAtUnixMs: e.produced_at_unix_ms,
    correlationId: e.correlation_id,
    causationId: e.causation_id,
    labels: e.labels,
    objectMediaType: e.object_media_type,
    objectSchema: e.object_schema,
  };
}

function factOf(f: StoredJson["fact"]): FactRecord["fact"] {
  return { subject: f.subject, predicate: f.predicate, objectJson: f.object_json };
}

/**
 * A fact decoded from a peer's record, holding the bytes it arrived as. It is
 * stored in the forward buffer as that record, byte for byte
 * (`importedRecord`): its checks ran on those bytes with the parser every
 * reader uses, so re-encoding would write the same fact again at the cost of
 * a second JSON tree and string per fact (measured: half of the receiver's
 * codec time, and garbage for its young generation). The bytes are a private
 * field, so a copy or a changed spread of the fact is a plain object and is
 * encoded afresh; and not a WeakMap, whose entries cost every scavenge.
 *
 * Its `fact` (subject, predicate and object, most of a record) is decoded
 * from those bytes when read, which the receiver does only for a fact that
 * references an artifact: a batch waits on its store and read-ahead long
 * enough to outlive young collections, and without its `fact` strings the
 * receiver's RSS peak through a 200k-fact drain fell from 192–202 to 132 MiB
 * with the production 4 MiB young generation (195–203 to 135–143 with 8 MiB).
 * An own, enumerable accessor, so a spread or an equality check sees it as a
 * field.
 */
class PeerFact implements StoredFact {
  readonly category: string;
  readonly subjectKind: string;
  readonly digest: string;
  readonly storedAtUnixMs: number;
  readonly envelope: StoredFact["envelope"];
  declare readonly fact: StoredFact["fact"];
  readonly offset: number;
  readonly #record: Uint8Array;

  /** `json` is `record` parsed and checked. */
  constructor(json: StoredJson, offset: number, record: Uint8Array) {
    this.category = json.category;
    this.subjectKind = json.subject_kind;
    this.digest = json.digest;
    this.storedAtUnixMs = json.stored_at_unix_ms;
    this.envelope = envelopeOf(json.envelope);
    Object.defineProperty(this, "fact", FACT_FROM_RECORD);
    this.offset = offset;
    this.#record = record;
  }

  static recordOf(fact: StoredFact): Uint8Array | undefined {
    return #record in fact ? fact.#record : undefined;
  }

  static factOf(fact: PeerFact): StoredFact["fact"] {
    return factOf(parseStored(fact.#record).fact);
  }
}

const FACT_FROM_RECORD: PropertyDescriptor = {
  get(this: PeerFact) {
    return PeerFact.factOf(this);
  },
  enumerable: true,
};

/**
 * A record a peer node sent as it stores it (FetchFacts `records`): the same
 * JSON as `decodeFact`, checked field by field, because it comes from another
 * zone and goes into this one's forward buffer. It goes in as it came only if
 * those bytes are exactly what the checks saw; otherwise it is encoded afresh
 * from the checked values (`asSent`).
 */
export function decodePeerRecord(data: Uint8Array, offset: number): StoredFact {
  let json: unknown;
  let source: string;
  try {
    source = utf8Text(data);
    json = JSON.parse(source);
  } catch (error) {
    throw malformed(offset, `not JSON (${(error as Error).message})`);
  }
  const r = json as Partial<StoredJson>;
  if (typeof json !== "object" || json === null || r.v !== 1)
    throw malformed(offset, "not a stored fact of format v1");
  const e = (r.envelope ?? {}) as Partial<StoredJson["envelope"]>;
  const f = (r.fact ?? {}) as Partial<StoredJson["fact"]>;
  // Direct checks, nothing allocated per record: this runs for every fact of a drain.
  text(r.category, "category", offset);
  text(r.subject_kind, "subject_kind", offset);
  text(r.digest, "digest", offset);
  integer(r.stored_at_unix_ms, "stored_at_unix_ms", offset);
  text(e.message_id, "envelope.message_id", offset);
  text(e.from_zone, "envelope.from_zone", offset);
  text(e.to_zone, "envelope.to_zone", offset);
  integer(e.produced_at_unix_ms, "envelope.produced_at_unix_ms", offset);
  text(e.correlation_id, "envelope.correlation_id", offset);
  text(e.causation_id, "envelope.causation_id", offset);
  text(e.object_media_type, "envelope.object_media_type", offset);
  text(e.object_schema, "envelope.object_schema", offset);
  text(f.subject, "fact.subject", offset);
  text(f.predicate, "fact.predicate", offset);
  text(f.object_json, "fact.object_json", offset);
  const labels = e.labels;
  if (typeof labels !== "object" || labels === null || Array.isArray(labels))
    throw malformed(offset, "envelope.labels is not a map of strings");
  for (const key in labels)
    if (typeof labels[key] !== "string") throw malformed(offset, "envelope.labels is not a map of strings");
  const checked = json as StoredJson;
  if (asSent(data, source, r, e, f)) return new PeerFact(checked, offset, data);
  return { ...decodeFact(data, checked), offset };
}

/**
 * Whether a checked record's bytes can be stored as they came: valid UTF-8
 * (decoding replaced any invalid sequence before the checks), no keys beyond
 * storage format v1's (a forged `source`, say), and integers spelled as
 * integers (`1.7e12` passes `Number.isSafeInteger` but not a strict int64
 * parser). A key sent twice is kept as sent: JSON.parse, Go's encoding/json,
 * Python and jq all keep the last value, the one checked.
 */
function asSent(data: Uint8Array, source: string, record: object, envelope: object, fact: object): boolean {
  return (
    keyCount(record) === RECORD_KEYS &&
    keyCount(envelope) === ENVELOPE_KEYS &&
    keyCount(fact) === FACT_KEYS &&
    !NOT_AN_INTEGER.test(source) &&
    isUtf8(data)
  );
}

const RECORD_KEYS = 7;
const ENVELOPE_KEYS = 9;
const FACT_KEYS = 3;
/** An integer field whose number has a fraction or an exponent; escaped quotes inside strings never match. */
const NOT_AN_INTEGER = /"(?:stored|produced)_at_unix_ms"\s*:\s*-?\d+[.eE]/;

function keyCount(value: object): number {
  let n = 0;
  for (const _ in value) n++;
  return n;
}

function text(value: unknown, field: string, offset: number): void {
  if (typeof value !== "string") throw malformed(offset, `${field} is not a string`);
}

function integer(value: unknown, field: string, offset: number): void {
  if (!Number.isSafeInteger(value)) throw malformed(offset, `${field} is not an integer`);
}

function malformed(offset: number, reason: string): DomainError {
  return new DomainError("unavailable", `peer record at offset ${offset} is malformed: ${reason}`);
}

/** What an index claim remembers: enough to decide duplicate vs conflict and to find the fact. */
export interface IndexClaim {
  readonly digest: string;
  readonly category: string;
  readonly subject: string;
}

export function encodeClaim(claim: IndexClaim): Uint8Array {
  return utf8Bytes(JSON.stringify(claim));
}

export function decodeClaim(data: Uint8Array): IndexClaim {
  return JSON.parse(utf8Text(data)) as IndexClaim;
}

/**
 * A fact imported from a peer, as stored in a forward buffer: the record the
 * peer stores (storage format v1, its `stored_at_unix_ms` included), exactly
 * as it crossed when it came as one. Where it came from is in the message's
 * headers, and when it arrived is the message's JetStream timestamp.
 */
export function importedRecord(fact: StoredFact): Uint8Array {
  return PeerFact.recordOf(fact) ?? encodeFact(fact);
}
