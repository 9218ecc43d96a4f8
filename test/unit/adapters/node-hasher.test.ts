import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { nodeHasher } from "../../../src/adapters/node/node-hasher.js";

describe("nodeHasher", () => {
  it("gives the SHA-256 of the text's UTF-8 bytes, in lowercase hex", () => {
    expect(nodeHasher.sha256Hex("abc")).toBe(
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    );
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 200 }), (text) => {
        expect(nodeHasher.sha256Hex(text)).toBe(
          createHash("sha256").update(Buffer.from(text, "utf8")).digest("hex"),
        );
      }),
    );
  });
});
