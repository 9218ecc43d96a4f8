import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AppendFactsResponseSchema } from "../../../src/gen/bsfg/v1/boundary_pb.js";
import { type ItemOutcome, resultsAsUnknownFields } from "../../../src/rpc/append-results-wire.js";

const text = fc.oneof(
  fc.constantFrom("", "operational", "already_exists"),
  fc.string({ unit: "grapheme", maxLength: 20 }),
  // Lengths either side of the one- and two-byte varint limits.
  fc.string({ minLength: 120, maxLength: 140 }),
);
// Every varint length an offset can have, up to the largest safe integer, and zero (left out).
const offset = fc.oneof(
  fc.constant(0),
  fc.nat(300),
  fc.integer({ min: 2 ** 31, max: 2 ** 33 }),
  fc.maxSafeNat(),
);
const outcome: fc.Arbitrary<ItemOutcome> = fc.oneof(
  fc.record({ offset, category: text, duplicate: fc.boolean() }),
  fc.record({ code: text, message: text, existingOffset: offset, existingCategory: text }),
);

function generated(outcomes: readonly ItemOutcome[]): Uint8Array {
  return toBinary(
    AppendFactsResponseSchema,
    create(AppendFactsResponseSchema, {
      results: outcomes.map((o) =>
        "code" in o
          ? { outcome: { case: "error" as const, value: { ...o, existingOffset: BigInt(o.existingOffset) } } }
          : { outcome: { case: "ok" as const, value: { ...o, offset: BigInt(o.offset) } } },
      ),
    }),
  );
}

describe("AppendFacts results encoded by hand", () => {
  it("give the same bytes as protobuf-es's own encoding, and decode to the same results", () => {
    fc.assert(
      fc.property(fc.array(outcome, { maxLength: 8 }), (outcomes) => {
        const byHand = create(AppendFactsResponseSchema);
        byHand.$unknown = resultsAsUnknownFields(outcomes);
        const bytes = toBinary(AppendFactsResponseSchema, byHand);
        expect(Buffer.from(bytes).toString("hex")).toBe(Buffer.from(generated(outcomes)).toString("hex"));
        expect(fromBinary(AppendFactsResponseSchema, bytes).results).toHaveLength(outcomes.length);
      }),
      { numRuns: 1000 },
    );
  });

  it("writes an empty ok result as the oneof case with no fields, as proto3 does", () => {
    const byHand = create(AppendFactsResponseSchema);
    byHand.$unknown = resultsAsUnknownFields([{ offset: 0, category: "", duplicate: false }]);
    const read = fromBinary(AppendFactsResponseSchema, toBinary(AppendFactsResponseSchema, byHand));
    expect(read.results[0]?.outcome.case).toBe("ok");
  });
});
