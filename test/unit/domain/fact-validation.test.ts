import { describe, expect, it } from "vitest";
import { DomainError } from "../../../src/domain/errors.js";
import { validateAppend } from "../../../src/domain/fact-validation.js";
import { appendRequest, testLimits, testPolicy } from "../../fixtures/facts.js";

function rejection(req: Parameters<typeof validateAppend>[0]): DomainError {
  try {
    validateAppend(req, testPolicy, testLimits);
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error("expected the append to be rejected");
}

describe("validateAppend", () => {
  it("accepts a well-formed fact, canonicalises object_json and resolves the category", () => {
    const v = validateAppend(appendRequest(), testPolicy, testLimits);
    expect(v.category).toBe("operational");
    expect(v.subjectKind).toBe("order");
    expect(v.fact.objectJson).toBe('{"id":"ENT-1","total":15000}');
  });

  it("routes by subject kind when no category is given, and honours an explicit one", () => {
    expect(
      validateAppend(appendRequest({ fact: { subject: "sensor:line-1/temp" } }), testPolicy, testLimits)
        .category,
    ).toBe("telemetry");
    expect(validateAppend(appendRequest({ category: "audit" }), testPolicy, testLimits).category).toBe(
      "audit",
    );
  });

  const cases: Array<[string, Parameters<typeof appendRequest>[0], string, DomainError["kind"]]> = [
    [
      "empty message_id",
      { envelope: { messageId: "" } },
      "envelope.message_id: is required",
      "invalid_input",
    ],
    [
      "message_id with a space",
      { envelope: { messageId: "a b" } },
      "envelope.message_id: must be 1–128",
      "invalid_input",
    ],
    [
      "message_id of 129 chars",
      { envelope: { messageId: "x".repeat(129) } },
      "envelope.message_id",
      "invalid_input",
    ],
    ["missing from_zone", { envelope: { fromZone: "" } }, "envelope.from_zone: is required", "invalid_input"],
    [
      "spoofed from_zone",
      { envelope: { fromZone: "plant-a" } },
      "envelope.from_zone: this node serves",
      "permission_denied",
    ],
    ["missing to_zone", { envelope: { toZone: "" } }, "envelope.to_zone: is required", "invalid_input"],
    [
      "unknown to_zone",
      { envelope: { toZone: "mars" } },
      'envelope.to_zone: "mars" is not a configured peer',
      "invalid_input",
    ],
    [
      "category not exported to peer",
      { envelope: { toZone: "plant-b" } },
      'peer "plant-b" is not configured to receive',
      "invalid_input",
    ],
    [
      "zero produced_at",
      { envelope: { producedAtUnixMs: 0 } },
      "envelope.produced_at_unix_ms",
      "invalid_input",
    ],
    [
      "correlation id with a newline",
      { envelope: { correlationId: "a\nb" } },
      "envelope.correlation_id",
      "invalid_input",
    ],
    [
      "too many labels",
      { envelope: { labels: { a: "1", b: "2", c: "3", d: "4", e: "5" } } },
      "envelope.labels: at most 4",
      "invalid_input",
    ],
    [
      "bad label key",
      { envelope: { labels: { "Bad Key": "1" } } },
      'envelope.labels["Bad Key"]',
      "invalid_input",
    ],
    [
      "bad media type",
      { envelope: { objectMediaType: "pdf" } },
      "envelope.object_media_type",
      "invalid_input",
    ],
    ["empty subject", { fact: { subject: "" } }, "fact.subject: is required", "invalid_input"],
    ["upper-case kind", { fact: { subject: "Order:1" } }, "fact.subject: must be", "invalid_input"],
    ["subject without id", { fact: { subject: "order:" } }, "fact.subject", "invalid_input"],
    [
      "camelCase predicate",
      { fact: { predicate: "orderCreated" } },
      "fact.predicate: must be lower_snake_case",
      "invalid_input",
    ],
    ["empty object_json", { fact: { objectJson: "" } }, "fact.object_json: is required", "invalid_input"],
    [
      "invalid JSON",
      { fact: { objectJson: "{'a':1}" } },
      "fact.object_json: not valid JSON",
      "invalid_input",
    ],
    [
      "oversized object_json",
      { fact: { objectJson: `"${"x".repeat(5000)}"` } },
      "fact.object_json: 5002 bytes exceeds",
      "too_large",
    ],
    [
      "lone surrogate in object_json",
      { fact: { objectJson: '{"a":"\\ud800"}' } },
      "fact.object_json: holds a lone surrogate (\\ud800)",
      "invalid_input",
    ],
    [
      "number beyond a double in object_json",
      { fact: { objectJson: '{"a":1e400}' } },
      "fact.object_json: holds a number beyond the range of a double",
      "invalid_input",
    ],
    [
      "deep JSON",
      { fact: { objectJson: "[[[[[[[[[[1]]]]]]]]]]" } },
      "fact.object_json: JSON nesting depth 10",
      "invalid_input",
    ],
    ["unknown category", { category: "nope" }, 'category: unknown category "nope"', "invalid_input"],
    [
      "artifact reference without digest",
      {
        envelope: { objectMediaType: "application/pdf" },
        fact: { objectJson: '{"bucket":"artifacts","key":"k","size":1}' },
      },
      "fact.object_json.digest",
      "invalid_input",
    ],
  ];

  it.each(cases)("rejects %s with a message naming the field", (_name, overrides, message, kind) => {
    const error = rejection(appendRequest(overrides));
    expect(error.kind).toBe(kind);
    expect(error.message).toContain(message);
  });

  it("requires envelope and fact", () => {
    expect(rejection({ envelope: undefined, fact: undefined, category: "" }).message).toBe(
      "envelope: is required",
    );
    expect(rejection({ ...appendRequest(), fact: undefined }).message).toBe("fact: is required");
  });

  it("accepts a complete artifact reference", () => {
    const digest = `sha256:${"ab".repeat(32)}`;
    const v = validateAppend(
      appendRequest({
        envelope: { objectMediaType: "application/pdf" },
        fact: { objectJson: JSON.stringify({ bucket: "artifacts", key: "batch/1.pdf", digest, size: 1024 }) },
      }),
      testPolicy,
      testLimits,
    );
    expect(JSON.parse(v.fact.objectJson)).toEqual({
      bucket: "artifacts",
      key: "batch/1.pdf",
      digest,
      size: 1024,
    });
  });
});
