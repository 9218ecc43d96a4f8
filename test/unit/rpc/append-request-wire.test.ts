import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { AppendRequest } from "../../../src/domain/fact.js";
import { validateAppend } from "../../../src/domain/fact-validation.js";
import { AppendFactRequestSchema } from "../../../src/gen/bsfg/v1/boundary_pb.js";
import { readAppendRequest } from "../../../src/rpc/append-request-wire.js";
import { toAppendRequest } from "../../../src/rpc/fact-mapping.js";
import { WireFormatError } from "../../../src/rpc/wire-reader.js";

const text = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ unit: "grapheme", maxLength: 12 }),
  fc.string({ unit: "binary", maxLength: 6 }),
  fc.constantFrom("", "enterprise", "plant-a", "\u0000", "\ufffd", "x".repeat(200)),
);
const request = fc.record(
  {
    envelope: fc.record(
      {
        messageId: text,
        fromZone: text,
        toZone: text,
        // Every varint length, negative values (ten bytes) and values past 2^53.
        producedAtUnixMs: fc.oneof(
          fc.bigInt({ min: 0n, max: 2n ** 53n - 1n }),
          fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
        ),
        correlationId: text,
        causationId: text,
        labels: fc.dictionary(text, text, { maxKeys: 4 }),
        objectMediaType: text,
        objectSchema: text,
      },
      { requiredKeys: [] },
    ),
    fact: fc.record({ subject: text, predicate: text, objectJson: text }, { requiredKeys: [] }),
    category: text,
  },
  { requiredKeys: [] },
);
const encoded = request.map((r) => toBinary(AppendFactRequestSchema, create(AppendFactRequestSchema, r)));

/** Fields no AppendFactRequest message knows, of every wire type a decoder must skip. */
const unknownFields = fc
  .array(
    fc.oneof(
      fc.record({
        no: fc.integer({ min: 10, max: 2 ** 29 - 1 }),
        v: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
      }),
      fc.record({ no: fc.integer({ min: 10, max: 5000 }), b: fc.uint8Array({ maxLength: 20 }) }),
      fc.record({ no: fc.integer({ min: 10, max: 5000 }), f32: fc.nat() }),
      fc.record({ no: fc.integer({ min: 10, max: 5000 }), f64: fc.double() }),
    ),
    { maxLength: 3 },
  )
  .map((fields) => {
    const w = new BinaryWriter();
    for (const f of fields) {
      if ("v" in f) w.tag(f.no, WireType.Varint).uint64(f.v);
      else if ("b" in f) w.tag(f.no, WireType.LengthDelimited).bytes(f.b);
      else if ("f32" in f) w.tag(f.no, WireType.Bit32).fixed32(f.f32);
      else w.tag(f.no, WireType.Bit64).double(f.f64);
    }
    return w.finish();
  });

function readByHand(bytes: Uint8Array): AppendRequest {
  return readAppendRequest(bytes);
}

/** What protobuf-es and toAppendRequest make of the same bytes. */
function readByProtobufEs(bytes: Uint8Array): AppendRequest {
  return toAppendRequest(fromBinary(AppendFactRequestSchema, bytes));
}

/**
 * produced_at past a safe integer is refused either way; how it rounds on the
 * way there does not matter. protobuf-es drops a "__proto__" label (the
 * assignment sets a prototype); the hand reader keeps it for validation to
 * refuse (its own test below).
 */
function comparable(r: AppendRequest): unknown {
  if (r.envelope === undefined) return r;
  const t = r.envelope.producedAtUnixMs;
  const producedAtUnixMs = Number.isSafeInteger(t) && t > 0 ? t : "refused";
  const labels = Object.fromEntries(Object.entries(r.envelope.labels).filter(([k]) => k !== "__proto__"));
  return { ...r, envelope: { ...r.envelope, labels, producedAtUnixMs } };
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(parts.flatMap((p) => [...p]));
}

describe("readAppendRequest", () => {
  it("reads any AppendFactRequest as protobuf-es and toAppendRequest do", () => {
    fc.assert(
      fc.property(encoded, (bytes) => {
        expect(comparable(readByHand(bytes))).toEqual(comparable(readByProtobufEs(bytes)));
      }),
      { numRuns: 1000 },
    );
  });

  it("merges messages sent in parts (messages merged, last scalar wins, map keys kept last) and skips unknown fields", () => {
    fc.assert(
      fc.property(encoded, encoded, unknownFields, unknownFields, (a, b, u1, u2) => {
        const bytes = concat(u1, a, u2, b);
        expect(comparable(readByHand(bytes))).toEqual(comparable(readByProtobufEs(bytes)));
      }),
      { numRuns: 500 },
    );
  });

  it("keeps produced_at exact to 2^53 and refused past it, as validation sees it", () => {
    for (const t of [1n, 127n, 128n, 1_763_000_000_000n, 2n ** 53n - 1n]) {
      const bytes = toBinary(
        AppendFactRequestSchema,
        create(AppendFactRequestSchema, { envelope: { producedAtUnixMs: t } }),
      );
      expect(readByHand(bytes).envelope?.producedAtUnixMs).toBe(Number(t));
    }
    for (const t of [2n ** 53n + 1n, 2n ** 63n - 1n, -1n, -(2n ** 63n)]) {
      const bytes = toBinary(
        AppendFactRequestSchema,
        create(AppendFactRequestSchema, { envelope: { producedAtUnixMs: t } }),
      );
      expect(Number.isSafeInteger(readByHand(bytes).envelope?.producedAtUnixMs)).toBe(false);
    }
  });

  it("refuses every truncation protobuf-es refuses, and reads the rest alike", () => {
    fc.assert(
      fc.property(encoded, (bytes) => {
        for (let end = 0; end < bytes.length; end++) {
          const cut = bytes.subarray(0, end);
          let expected: unknown;
          try {
            expected = comparable(readByProtobufEs(cut));
          } catch {
            expect(() => readByHand(cut), `cut at ${end}`).toThrow(WireFormatError);
            continue;
          }
          expect(comparable(readByHand(cut)), `cut at ${end}`).toEqual(expected);
        }
      }),
      { numRuns: 200 },
    );
  });

  it("names the field of a string that is not UTF-8, of a wrong wire type and of a group", () => {
    const notUtf8 = new BinaryWriter()
      .tag(1, WireType.LengthDelimited)
      .bytes(
        new BinaryWriter()
          .tag(7, WireType.LengthDelimited)
          .bytes(Uint8Array.of(0x0a, 1, 0xff))
          .finish(),
      )
      .finish();
    expect(() => readByHand(notUtf8)).toThrow(
      new WireFormatError(".envelope.labels", "a string field holds bytes that are not valid UTF-8"),
    );
    // A real U+FFFD is valid UTF-8 and kept.
    const replacement = new BinaryWriter().tag(3, WireType.LengthDelimited).string("a\ufffdb").finish();
    expect(readByHand(replacement).category).toBe("a\ufffdb");
    const varintSubject = new BinaryWriter()
      .tag(2, WireType.LengthDelimited)
      .bytes(new BinaryWriter().tag(1, WireType.Varint).uint32(5).finish())
      .finish();
    expect(() => readByHand(varintSubject)).toThrow(
      new WireFormatError(".fact.subject", "wire type 0 where the field's type needs 2"),
    );
    const group = new BinaryWriter().tag(12, WireType.StartGroup).finish();
    expect(() => readByHand(group)).toThrow(new WireFormatError(" (field 12)", "unsupported wire type 3"));
    const overlong = Uint8Array.of(0x0a, ...new Array(10).fill(0xff), 1);
    expect(() => readByHand(overlong)).toThrow(/truncated or overlong varint/);
    const pastItsMessage = Uint8Array.of(0x12, 0x03, 0x0a, 0x09, 0x61);
    expect(() => readByHand(pastItsMessage)).toThrow(
      new WireFormatError(".fact.subject", "runs past the end of its message"),
    );
  });

  it("keeps a __proto__ label as an own key, so validation refuses it rather than losing it", () => {
    const entry = new BinaryWriter()
      .tag(1, WireType.LengthDelimited)
      .string("__proto__")
      .tag(2, WireType.LengthDelimited)
      .string("v")
      .finish();
    const bytes = toBinary(
      AppendFactRequestSchema,
      create(AppendFactRequestSchema, {
        envelope: { messageId: "m-1", fromZone: "z", toZone: "p", producedAtUnixMs: 1n },
        fact: { subject: "order:1", predicate: "created", objectJson: "{}" },
      }),
    );
    const labelled = concat(
      bytes,
      new BinaryWriter()
        .tag(1, WireType.LengthDelimited)
        .bytes(new BinaryWriter().tag(7, WireType.LengthDelimited).bytes(entry).finish())
        .finish(),
    );
    const read = readByHand(labelled);
    expect(Object.keys(read.envelope?.labels ?? {})).toEqual(["__proto__"]);
    const policy = { zone: "z", peers: new Map([["p", {}]]) } as unknown as Parameters<
      typeof validateAppend
    >[1];
    expect(() =>
      validateAppend(read, policy, { maxObjectJsonBytes: 1000, maxJsonDepth: 8, maxLabels: 8 }),
    ).toThrow(/envelope\.labels/);
  });
});
