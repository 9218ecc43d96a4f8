import { headers } from "@nats-io/transport-node";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type HeaderFields, headerBlock } from "../../../src/adapters/jetstream/header-block.js";

// Keys as HTTP-style tokens; values anything nats.js keeps as given (it trims
// them and refuses CR or LF), multi-byte characters included.
const key = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,20}$/);
const value = fc
  .string({ unit: "grapheme", maxLength: 40 })
  .filter((v) => !/[\r\n]/.test(v) && v.trim() === v);
const sequence = fc.oneof(fc.nat(20), fc.integer({ min: 9, max: 100_001 }), fc.maxSafeNat());

const fields: fc.Arbitrary<HeaderFields> = fc.record(
  {
    headers: fc.dictionary(key, value, { maxKeys: 4 }),
    expectLastSequence: sequence,
    expectLastSubjectSequence: sequence,
    msgId: value,
    expectLastMsgId: value,
  },
  { requiredKeys: [] },
);

/** The same fields through nats.js's own MsgHdrs, in the order headerBlock writes them. */
function byNatsJs(f: HeaderFields): Uint8Array {
  const h = headers();
  for (const [k, v] of Object.entries(f.headers ?? {})) h.set(k, v);
  if (f.expectLastSequence !== undefined) h.set("Nats-Expected-Last-Sequence", String(f.expectLastSequence));
  if (f.expectLastSubjectSequence !== undefined)
    h.set("Nats-Expected-Last-Subject-Sequence", String(f.expectLastSubjectSequence));
  if (f.msgId !== undefined) h.set("Nats-Msg-Id", f.msgId);
  if (f.expectLastMsgId !== undefined) h.set("Nats-Expected-Last-Msg-Id", f.expectLastMsgId);
  // encode() is what nats.js's publish calls; its MsgHdrs type leaves it out.
  return (h as unknown as { encode(): Uint8Array }).encode();
}

describe("headerBlock", () => {
  it("writes the bytes nats.js's MsgHdrs encodes for the same headers", () => {
    fc.assert(
      fc.property(fields, (f) => {
        // A block with no line at all: nats.js encodes nothing; we always send the preamble.
        fc.pre(
          Object.keys(f.headers ?? {}).length + Object.keys(f).filter((k) => k !== "headers").length > 0,
        );
        expect(Buffer.from(headerBlock(f)).toString("utf8")).toBe(Buffer.from(byNatsJs(f)).toString("utf8"));
      }),
      { numRuns: 500 },
    );
  });

  it("writes every digit of a sequence, at each digit-count boundary", () => {
    for (const n of [0, 9, 10, 99, 100, 999_999, 1_000_000, 2 ** 32, Number.MAX_SAFE_INTEGER]) {
      expect(Buffer.from(headerBlock({ expectLastSequence: n })).toString()).toBe(
        `NATS/1.0\r\nNats-Expected-Last-Sequence: ${n}\r\n\r\n`,
      );
    }
  });

  it("refuses a value with CR or LF and a sequence that is not a non-negative integer", () => {
    expect(() => headerBlock({ headers: { "Bsfg-Source-Zone": "a\r\nNats-Msg-Id: x" } })).toThrow(
      /Bsfg-Source-Zone: values cannot contain CR or LF/,
    );
    expect(() => headerBlock({ msgId: "a\nb" })).toThrow(/Nats-Msg-Id/);
    for (const bad of [-1, 1.5, Number.NaN, 2 ** 53])
      expect(() => headerBlock({ expectLastSequence: bad })).toThrow(/not a non-negative integer/);
  });
});
