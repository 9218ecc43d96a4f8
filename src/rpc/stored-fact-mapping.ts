import { create } from "@bufbuild/protobuf";
import type { StoredFact } from "../domain/fact.js";
import { type StoredFact as StoredFactMessage, StoredFactSchema } from "../gen/bsfg/v1/boundary_pb.js";

/** Domain → proto for FetchFacts responses. */
export function toStoredFactMessage(f: StoredFact): StoredFactMessage {
  const e = f.envelope;
  return create(StoredFactSchema, {
    offset: BigInt(f.offset),
    category: f.category,
    storedAtUnixMs: BigInt(f.storedAtUnixMs),
    envelope: {
      messageId: e.messageId,
      fromZone: e.fromZone,
      toZone: e.toZone,
      producedAtUnixMs: BigInt(e.producedAtUnixMs),
      correlationId: e.correlationId,
      causationId: e.causationId,
      labels: { ...e.labels },
      objectMediaType: e.objectMediaType,
      objectSchema: e.objectSchema,
    },
    fact: { subject: f.fact.subject, predicate: f.fact.predicate, objectJson: f.fact.objectJson },
  });
}

/**
 * Proto → domain for facts fetched from a peer. The subject kind is derived
 * again from the subject; the digest is the peer's (it travels in no field),
 * so it is left empty and recomputed nowhere: imports are deduplicated by
 * source offset, not by content.
 */
export function fromStoredFactMessage(m: StoredFactMessage): StoredFact {
  const e = m.envelope;
  return {
    offset: Number(m.offset),
    category: m.category,
    subjectKind: (m.fact?.subject ?? "").split(":")[0] ?? "",
    digest: "",
    storedAtUnixMs: Number(m.storedAtUnixMs),
    envelope: {
      messageId: e?.messageId ?? "",
      fromZone: e?.fromZone ?? "",
      toZone: e?.toZone ?? "",
      producedAtUnixMs: Number(e?.producedAtUnixMs ?? 0n),
      correlationId: e?.correlationId ?? "",
      causationId: e?.causationId ?? "",
      labels: e?.labels ?? {},
      objectMediaType: e?.objectMediaType ?? "",
      objectSchema: e?.objectSchema ?? "",
    },
    fact: {
      subject: m.fact?.subject ?? "",
      predicate: m.fact?.predicate ?? "",
      objectJson: m.fact?.objectJson ?? "",
    },
  };
}
