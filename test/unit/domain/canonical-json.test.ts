import canonicalize from "canonicalize";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { nestingDepth, toCanonicalJson } from "../../../src/domain/canonical-json.js";
import { DomainError } from "../../../src/domain/errors.js";

describe("toCanonicalJson", () => {
  it("sorts keys, strips whitespace and normalises numbers (RFC 8785)", () => {
    expect(toCanonicalJson('{ "b": 1.0, "a": [1e2, "x"], "c": {"z": null, "y": true} }', "f", 10)).toBe(
      '{"a":[100,"x"],"b":1,"c":{"y":true,"z":null}}',
    );
  });

  it("accepts any JSON value at the top level", () => {
    expect(toCanonicalJson(" 42 ", "f", 10)).toBe("42");
    expect(toCanonicalJson('"héllo"', "f", 10)).toBe('"héllo"');
    expect(toCanonicalJson("null", "f", 10)).toBe("null");
  });

  it("names the field when the text is not JSON", () => {
    expect(() => toCanonicalJson("{nope}", "fact.object_json", 10)).toThrowError(
      /^fact\.object_json: not valid JSON/,
    );
  });

  it("rejects duplicate keys, which would make two documents canonicalise alike", () => {
    const error = catchError(() => toCanonicalJson('{"a":1,"b":{"x":1,"x":2}}', "f", 10));
    expect(error.kind).toBe("invalid_input");
    expect(error.message).toContain('duplicate object key "x"');
  });

  it("does not mistake equal keys in sibling objects or escaped quotes for duplicates", () => {
    expect(toCanonicalJson('[{"a":1},{"a":2},{"q\\"a":1,"a":3}]', "f", 10)).toBe(
      '[{"a":1},{"a":2},{"a":3,"q\\"a":1}]',
    );
  });

  it("finds a duplicate at any depth, inside arrays and among escaped keys", () => {
    for (const [doc, key] of [
      ['[1,{"x":[{"k":1,"k":1}]}]', "k"],
      ['{"q\\"a":1,"b":2,"q\\"a":3}', 'q"a'],
      ['{"a":{"b":1},"a":{"b":1}}', "a"],
      ['{"\\u0061":1,"a":2}', "a"],
    ] as const) {
      expect(catchError(() => toCanonicalJson(doc, "f", 10)).message).toContain(
        `duplicate object key ${JSON.stringify(key)}`,
      );
    }
  });

  it("does not count colons inside strings as keys", () => {
    expect(toCanonicalJson('{"a:b":"c:d","e":["f:g"]}', "f", 10)).toBe('{"a:b":"c:d","e":["f:g"]}');
  });

  it("refuses lone surrogates, escaped or raw, in values and keys, and keeps surrogate pairs", () => {
    for (const doc of [
      '"\\ud800"',
      '{"\\uDC00":1}',
      '["\\ud83d x"]',
      `"${"\ud800"}"`,
      '{"a":"\\ude00\\ud83d"}',
    ]) {
      const error = catchError(() => toCanonicalJson(doc, "fact.object_json", 10));
      expect(error.kind).toBe("invalid_input");
      expect(error.message).toMatch(/^fact\.object_json: holds a lone surrogate \(\\ud[89a-f][0-9a-f]{2}\)/);
    }
    expect(toCanonicalJson('{"a":"\\ud83d\\ude00","\\\\ud800":1}', "f", 10)).toBe('{"\\\\ud800":1,"a":"😀"}');
  });

  it("refuses numbers that JSON.parse can only read as Infinity", () => {
    for (const doc of ["1e400", '{"a":[-1e999]}']) {
      expect(catchError(() => toCanonicalJson(doc, "f", 10)).message).toMatch(
        /^f: holds a number beyond the range of a double/,
      );
    }
  });

  it("rejects nesting deeper than the limit before parsing", () => {
    const deep = `${"[".repeat(100_000)}${"]".repeat(100_000)}`;
    expect(catchError(() => toCanonicalJson(deep, "f", 64)).message).toMatch(
      /nesting depth 100000 exceeds the limit of 64/,
    );
  });

  it("ignores brackets inside strings when measuring depth", () => {
    expect(nestingDepth('{"a":"[[[[{{{{"}')).toBe(1);
    expect(nestingDepth("[[1],[[2]]]")).toBe(3);
  });
});

function catchError(fn: () => unknown): DomainError {
  try {
    fn();
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error("expected a DomainError");
}

describe("nestingDepth and duplicate detection on generated documents", () => {
  it("measure depth and accept every generated document regardless of quotes and backslashes in strings", () => {
    const depthOf = (v: unknown): number =>
      v !== null && typeof v === "object"
        ? 1 + Math.max(0, ...Object.values(v as Record<string, unknown>).map(depthOf))
        : 0;
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (v) => {
        const json = JSON.stringify(v) ?? "null";
        expect(nestingDepth(json)).toBe(depthOf(v));
        expect(() => toCanonicalJson(json, "f", 64)).not.toThrow();
      }),
      { numRuns: 1000 },
    );
  });
});

describe("toCanonicalJson against the RFC 8785 library", () => {
  // Keys in any order (sorted, reversed, integer-like, unicode), so both the
  // native path and the library path are taken, on compact and indented text.
  const key = fc.oneof(fc.string({ unit: "grapheme", maxLength: 4 }), fc.nat({ max: 20 }).map(String));
  const value = fc.letrec((tie) => ({
    node: fc.oneof(
      { depthSize: "small" },
      fc.constantFrom(null, true, false, 0, -0, 1e21, 5e-324, 0.1, -123.456),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.string({ unit: "grapheme", maxLength: 8 }),
      fc.array(tie("node"), { maxLength: 4 }),
      fc.dictionary(key, tie("node"), { maxKeys: 5 }),
    ),
  })).node;

  it("writes exactly the canonical bytes of every generated document", () => {
    fc.assert(
      fc.property(value, fc.boolean(), (v, indent) => {
        const text = JSON.stringify(v, null, indent ? 2 : undefined);
        expect(toCanonicalJson(text, "f", 64)).toBe(canonicalize(JSON.parse(text)));
      }),
      { numRuns: 2000 },
    );
  });

  it("refuses every generated object given a second copy of one of its keys", () => {
    fc.assert(
      fc.property(fc.dictionary(key, value, { minKeys: 1, maxKeys: 5 }), fc.nat(), (object, pick) => {
        const keys = Object.keys(object);
        const dup = keys[pick % keys.length] as string;
        const text = `${JSON.stringify(object).slice(0, -1)},${JSON.stringify(dup)}:0}`;
        expect(catchError(() => toCanonicalJson(text, "f", 64)).message).toContain(
          `duplicate object key ${JSON.stringify(dup)}`,
        );
      }),
      { numRuns: 500 },
    );
  });
});
