import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FetchFactsResponseSchema } from "../../../src/gen/bsfg/v1/boundary_pb.js";
import { isBinaryProto, recordsAsUnknownFields } from "../../../src/rpc/stored-records-wire.js";

const record = fc.record({
  // Across every varint length an offset can have, up to the largest safe integer.
  offset: fc.oneof(fc.nat(300), fc.integer({ min: 2 ** 31, max: 2 ** 33 }), fc.maxSafeNat()),
  // Lengths either side of the one- and two-byte varint limits.
  bytes: fc.oneof(fc.uint8Array({ maxLength: 130 }), fc.uint8Array({ minLength: 16_380, maxLength: 16_390 })),
});

describe("FetchFacts records encoded by hand", () => {
  it("give the same bytes as protobuf-es's own encoding of the response, and decode to the same records", () => {
    fc.assert(
      fc.property(fc.array(record, { maxLength: 8 }), fc.nat(), (records, cursor) => {
        const generated = toBinary(
          FetchFactsResponseSchema,
          create(FetchFactsResponseSchema, {
            records: records.map((r) => ({ offset: BigInt(r.offset), json: r.bytes })),
            cursor: BigInt(cursor),
          }),
        );
        const byHand = create(FetchFactsResponseSchema, { cursor: BigInt(cursor) });
        byHand.$unknown = recordsAsUnknownFields(records);
        const wire = toBinary(FetchFactsResponseSchema, byHand);
        // Buffer comparisons: a deep equality walks a 300 KB array element by element.
        expect(Buffer.compare(wire, generated)).toBe(0);
        const decoded = fromBinary(FetchFactsResponseSchema, wire);
        expect(decoded.records.map((r) => Number(r.offset))).toEqual(records.map((r) => r.offset));
        for (const [i, r] of decoded.records.entries())
          expect(Buffer.compare(r.json, records[i]?.bytes as Uint8Array)).toBe(0);
        expect(decoded.cursor).toBe(BigInt(cursor));
      }),
      { numRuns: 100 },
    );
  });

  it("are used only for binary protobuf content types", () => {
    for (const binary of [
      "application/proto",
      "application/grpc",
      "application/grpc+proto",
      "application/grpc-web+proto",
      "Application/Proto; charset=utf-8",
    ])
      expect(isBinaryProto(binary)).toBe(true);
    for (const other of [
      null,
      "",
      "application/json",
      "application/grpc+json",
      "application/grpc-web+json",
      "application/protobuf-json",
      "application/connect+proto",
    ])
      expect(isBinaryProto(other)).toBe(false);
  });
});
