import { invalidField } from "./errors.js";

const BUCKET = /^[a-z][a-z0-9_-]{0,63}$/;
/** Keys are paths such as `batch/2026/BR-1.pdf`: printable, no whitespace, no leading slash or `..` segment. */
const KEY = /^(?!\/)(?!.*(^|\/)\.\.(\/|$))[\x21-\x7e]{1,512}$/;
export const SHA256_HEX = /^[0-9a-f]{64}$/;

export function validateObjectName(bucket: string, key: string, prefix = ""): void {
  if (!BUCKET.test(bucket))
    throw invalidField(`${prefix}bucket`, bucket === "" ? "is required" : "must match [a-z][a-z0-9_-]{0,63}");
  if (!KEY.test(key)) {
    throw invalidField(
      `${prefix}key`,
      key === ""
        ? "is required"
        : "must be 1–512 printable ASCII characters without spaces, a leading / or .. segments",
    );
  }
}
