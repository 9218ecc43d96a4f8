import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";

/**
 * Seconds until each certificate expires, read from disk on every call so a
 * rotated file shows up at the next scrape. A file that cannot be read or
 * parsed reports -Infinity: as alarming as an expired certificate.
 */
export function certExpirySeconds(
  files: Readonly<Record<string, string>>,
  nowMs: number,
): Map<string, number> {
  const result = new Map<string, number>();
  for (const [name, path] of Object.entries(files)) {
    try {
      const cert = new X509Certificate(readFileSync(path));
      result.set(name, Math.round((Date.parse(cert.validTo) - nowMs) / 1000));
    } catch {
      result.set(name, Number.NEGATIVE_INFINITY);
    }
  }
  return result;
}
