import { create, fromBinary, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { factsOf } from "../../../src/adapters/connect/connect-peer-link.js";
import { decodePeerRecord, encodeFact } from "../../../src/adapters/jetstream/fact-codec.js";
import { isDomainError } from "../../../src/domain/errors.js";
import {
  type FetchFactsResponseView,
  FetchFactsResponseViewSchema,
} from "../../../src/gen/bsfg/internal/v1/fetch_facts_view_pb.js";
import { FetchFactsResponseSchema } from "../../../src/gen/bsfg/v1/boundary_pb.js";
import { toStoredFactMessage } from "../../../src/rpc/stored-fact-mapping.js";
import { envelope, record } from "../../fixtures/facts.js";

// A peer answers FetchFacts with its stored records; the receiving node decodes
// them into the facts it stores, so what crosses is exactly what was stored,
// and a malformed record is refused naming the offset and the field.

const encoder = new TextEncoder();
const stored = record({ envelope: envelope({ messageId: "pr-1", labels: { line: "7" } }) });
const bytes = encodeFact(stored);

/** A peer's answer as the receiving node reads it off the wire. */
function asReceived(init: MessageInitShape<typeof FetchFactsResponseSchema>): FetchFactsResponseView {
  const wire = toBinary(FetchFactsResponseSchema, create(FetchFactsResponseSchema, init));
  return fromBinary(FetchFactsResponseViewSchema, wire);
}

function refusal(data: Uint8Array): string {
  try {
    decodePeerRecord(data, 42);
  } catch (error) {
    if (isDomainError(error)) return `${error.kind}: ${error.message}`;
    throw error;
  }
  return "accepted";
}

function mutated(change: (json: Record<string, unknown>) => void): Uint8Array {
  const json = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
  change(json);
  return encoder.encode(JSON.stringify(json));
}

describe("peer records", () => {
  it("decode to the stored fact, with the offset they were fetched at", () => {
    expect(decodePeerRecord(bytes, 42)).toEqual({ ...stored, offset: 42 });
  });

  it("read their fact from the record when asked, and a spread copies it as a field", () => {
    const fact = decodePeerRecord(bytes, 42);
    expect(Object.keys(fact)).toContain("fact");
    expect(fact.fact).toEqual(stored.fact);
    const copy = { ...fact };
    expect(Object.getOwnPropertyDescriptor(copy, "fact")?.value).toEqual(stored.fact);
    expect(copy.envelope).toEqual(stored.envelope);
  });

  it("are refused when malformed, naming the offset and what is wrong", () => {
    expect(refusal(encoder.encode("{not json"))).toMatch(/^unavailable: peer record at offset 42 .*not JSON/);
    expect(refusal(mutated((j) => (j.v = 2)))).toMatch(/not a stored fact of format v1/);
    expect(refusal(mutated((j) => delete (j.envelope as Record<string, unknown>).message_id))).toMatch(
      /envelope\.message_id is not a string/,
    );
    expect(refusal(mutated((j) => ((j.fact as Record<string, unknown>).object_json = {})))).toMatch(
      /fact\.object_json is not a string/,
    );
    expect(refusal(mutated((j) => (j.stored_at_unix_ms = "1")))).toMatch(
      /stored_at_unix_ms is not an integer/,
    );
    expect(refusal(mutated((j) => ((j.envelope as Record<string, unknown>).labels = { line: 7 })))).toMatch(
      /envelope\.labels is not a map of strings/,
    );
  });

  it("are what a FetchFacts answer carries; an answer from a node without them carries facts", () => {
    const withRecords = asReceived({
      records: [
        { offset: 42n, json: bytes },
        { offset: 2n ** 40n, json: bytes },
      ],
    });
    expect(factsOf(withRecords)).toEqual([
      { ...stored, offset: 42 },
      { ...stored, offset: 2 ** 40 },
    ]);
    const older = asReceived({ facts: [toStoredFactMessage({ ...stored, offset: 42 })] });
    expect(factsOf(older).map((f) => [f.offset, f.envelope.messageId, f.fact.objectJson])).toEqual([
      [42, "pr-1", stored.fact.objectJson],
    ]);
  });

  it("are refused, naming the record, when one is not a StoredRecord on the wire", () => {
    // Field 2 (json) claims 100 bytes and has 1.
    const answer = asReceived({ records: [{ offset: 1n, json: bytes }] });
    answer.records.push(Uint8Array.of(0x12, 100, 0x7b));
    expect(() => factsOf(answer)).toThrow(
      /^peer record 1 of the batch is not a StoredRecord: json: runs past the end of its message$/,
    );
  });
});
