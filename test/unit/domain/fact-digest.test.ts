import canonicalize from "canonicalize";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { toCanonicalJson } from "../../../src/domain/canonical-json.js";
import { digestInput } from "../../../src/domain/fact-digest.js";
import type { ValidatedAppend } from "../../../src/domain/fact-validation.js";

// digestInput writes the RFC 8785 form by hand for speed. Stored digests must
// never change (a retry of a fact stored by an older node would turn into a
// conflict), so it has to equal the canonicaliser over the whole record.
function reference(a: ValidatedAppend): string {
  const { envelope, fact } = a;
  return canonicalize({
    category: a.category,
    envelope: {
      message_id: envelope.messageId,
      from_zone: envelope.fromZone,
      to_zone: envelope.toZone,
      correlation_id: envelope.correlationId,
      causation_id: envelope.causationId,
      labels: envelope.labels,
      object_media_type: envelope.objectMediaType,
      object_schema: envelope.objectSchema,
    },
    fact: { subject: fact.subject, predicate: fact.predicate, object_json: fact.objectJson },
  }) as string;
}

const text = fc.string({ unit: "grapheme", maxLength: 40 });
const append = fc.record({
  category: text,
  subjectKind: text,
  envelope: fc.record({
    messageId: text,
    fromZone: text,
    toZone: text,
    producedAtUnixMs: fc.nat(),
    correlationId: text,
    causationId: text,
    labels: fc.dictionary(text, text, { maxKeys: 6 }),
    objectMediaType: text,
    objectSchema: text,
  }),
  fact: fc.record({
    subject: text,
    predicate: text,
    objectJson: fc
      .jsonValue({ maxDepth: 4 })
      .map((v) => toCanonicalJson(JSON.stringify(v) ?? "null", "fact.object_json", 64)),
  }),
});

describe("digestInput", () => {
  it("is byte for byte the RFC 8785 canonical form of the whole record", () => {
    fc.assert(
      fc.property(append, (a) => {
        expect(digestInput(a)).toBe(reference(a));
      }),
      { numRuns: 2000 },
    );
  });

  it("keeps quotes, backslashes, control characters and astral characters in object_json exact", () => {
    const a = fc.sample(append, 1)[0] as ValidatedAppend;
    const tricky = toCanonicalJson('{"q":"\\"\\\\\\n\\u0001 😀 \\u2028","z":[1e21,-0]}', "f", 64);
    const withTricky = { ...a, fact: { ...a.fact, objectJson: tricky } };
    expect(digestInput(withTricky)).toBe(reference(withTricky));
  });
});
