import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FetchFactsResponseSchema, StoredRecordSchema } from "../../../src/gen/bsfg/v1/boundary_pb.js";
import {
  isBinaryProto,
  readStoredRecord,
  recordsAsUnknownFields,
} from "../../../src/rpc/stored-records-wire.js";

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

  it("read back by hand as protobuf-es reads them: any field order, unknown fields skipped, last value wins", () => {
    const unknown = fc.oneof(
      fc.record({
        no: fc.integer({ min: 3, max: 2 ** 29 - 1 }),
        wireType: fc.constant(WireType.Varint),
        value: fc.maxSafeNat(),
      }),
      fc.record({
        no: fc.integer({ min: 3, max: 99 }),
        wireType: fc.constant(WireType.LengthDelimited),
        value: fc.uint8Array({ maxLength: 200 }),
      }),
      fc.record({
        no: fc.integer({ min: 3, max: 99 }),
        wireType: fc.constantFrom(WireType.Bit32, WireType.Bit64),
        value: fc.nat(),
      }),
    );
    fc.assert(
      fc.property(fc.array(fc.oneof(record, unknown), { minLength: 1, maxLength: 4 }), (parts) => {
        // Each part its own encoded fragment; concatenated, a decoder merges them in order.
        const wire = Buffer.concat(
          parts.map((p) => {
            if ("offset" in p)
              return toBinary(
                StoredRecordSchema,
                create(StoredRecordSchema, { offset: BigInt(p.offset), json: p.bytes }),
              );
            const w = new BinaryWriter().tag(p.no, p.wireType);
            if (p.wireType === WireType.Varint) w.uint64(p.value as number);
            else if (p.wireType === WireType.LengthDelimited) w.bytes(p.value as Uint8Array);
            else if (p.wireType === WireType.Bit32) w.fixed32(p.value as number);
            else w.fixed64(p.value as number);
            return w.finish();
          }),
        );
        const expected = fromBinary(StoredRecordSchema, wire);
        const byHand = readStoredRecord(wire);
        expect(byHand.offset).toBe(Number(expected.offset));
        expect(Buffer.compare(byHand.json, expected.json)).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  it("refuse a truncated record and a group, which no StoredRecord has", () => {
    const whole = toBinary(
      StoredRecordSchema,
      create(StoredRecordSchema, { offset: 300n, json: new Uint8Array(20) }),
    );
    for (let end = 1; end < whole.length; end++) {
      // Cut between the offset's varint and the json field it is a complete record with no json.
      if (end === 3) continue;
      expect(() => readStoredRecord(whole.subarray(0, end)), `cut at ${end}`).toThrow(RangeError);
    }
    expect(readStoredRecord(whole.subarray(0, 3))).toEqual({ offset: 300, json: new Uint8Array(0) });
    expect(() => readStoredRecord(new BinaryWriter().tag(5, WireType.StartGroup).finish())).toThrow(
      /wire type 3/,
    );
    expect(() => readStoredRecord(Uint8Array.of(8, ...new Array(10).fill(0xff), 1))).toThrow(
      /overlong varint/,
    );
  });
});
