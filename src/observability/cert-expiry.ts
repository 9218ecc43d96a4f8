import { X509Certificate } from "node:crypto";
import { readFileSync, statSync } from "node:fs";

/** Parsed expiry per file, kept while the file's modification time and size stay the same. */
const parsed = new Map<
  string,
  { readonly mtimeMs: number; readonly size: number; readonly validToMs: number }
>();

/**
 * Seconds until each certificate expires. The file is looked at on every
 * call so a rotated certificate shows up at the next scrape, but parsed only
 * when it changed: /status and /metrics may be polled many times a second.
 * A file that cannot be read or parsed reports -Infinity: as alarming as an
 * expired certificate.
 */
export function certExpirySeconds(
  files: Readonly<Record<string, string>>,
  nowMs: number,
): Map<string, number> {
  const result = new Map<string, number>();
  for (const [name, path] of Object.entries(files)) {
    try {
      result.set(name, Math.round((validToMs(path) - nowMs) / 1000));
    } catch {
      parsed.delete(path);
      result.set(name, Number.NEGATIVE_INFINITY);
    }
  }
  return result;
}

function validToMs(path: string): number {
  const { mtimeMs, size } = statSync(path);
  const cached = parsed.get(path);
  if (cached !== undefined && cached.mtimeMs === mtimeMs && cached.size === size) return cached.validToMs;
  const validTo = Date.parse(new X509Certificate(readFileSync(path)).validTo);
  parsed.set(path, { mtimeMs, size, validToMs: validTo });
  return validTo;
}
