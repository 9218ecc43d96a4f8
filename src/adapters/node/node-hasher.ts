import { createHash } from "node:crypto";
import type { Hasher } from "../../ports/hasher.js";

export const nodeHasher: Hasher = {
  sha256Hex(text: string): string {
    return createHash("sha256").update(text, "utf8").digest("hex");
  },
};
