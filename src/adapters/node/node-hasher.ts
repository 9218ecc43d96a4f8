import { hash } from "node:crypto";
import type { Hasher } from "../../ports/hasher.js";

export const nodeHasher: Hasher = {
  // One-shot: no Hash object per fact (0.7 instead of 1.3–1.9 µs for a fact-sized input).
  sha256Hex(text: string): string {
    return hash("sha256", text, "hex");
  },
};
