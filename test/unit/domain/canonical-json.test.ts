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
