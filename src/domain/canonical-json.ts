import canonicalize from "canonicalize";
import { invalidField } from "./errors.js";

/**
 * Parses `text` as one JSON value and returns its RFC 8785 canonical form.
 * Rejects what RFC 8785 cannot represent faithfully (I-JSON): duplicate object
 * keys and nesting deeper than `maxDepth` (checked before parsing, so a hostile
 * document cannot exhaust the stack of the recursive canonicaliser).
 */
export function toCanonicalJson(text: string, field: string, maxDepth: number): string {
  const depth = nestingDepth(text);
  if (depth > maxDepth)
    throw invalidField(field, `JSON nesting depth ${depth} exceeds the limit of ${maxDepth}`);
  let value: unknown;
  let duplicateKey: string | undefined;
  try {
    value = JSON.parse(text);
    duplicateKey = findDuplicateKey(text);
  } catch (error) {
    throw invalidField(field, `not valid JSON (${(error as Error).message})`);
  }
  if (duplicateKey !== undefined) {
    throw invalidField(
      field,
      `duplicate object key ${JSON.stringify(duplicateKey)} (RFC 8785 requires I-JSON)`,
    );
  }
  const canonical = canonicalize(value);
  if (canonical === undefined) throw invalidField(field, "not a JSON value");
  return canonical;
}

/** Maximum bracket nesting outside string literals; linear and allocation-free. */
export function nestingDepth(text: string): number {
  let depth = 0;
  let max = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) i = stringEnd(text, i);
    else if (c === 0x7b || c === 0x5b) {
      depth++;
      if (depth > max) max = depth;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}

/**
 * Index of the quote that closes the string opened at `start` (text.length
 * if none). Strings are most of a large document's bytes, so they are
 * skipped with indexOf rather than looked at one character at a time.
 */
export function stringEnd(text: string, start: number): number {
  let quote = start;
  for (;;) {
    quote = text.indexOf('"', quote + 1);
    if (quote < 0) return text.length;
    let backslashes = 0;
    while (text.charCodeAt(quote - 1 - backslashes) === 0x5c) backslashes++;
    if (backslashes % 2 === 0) return quote;
  }
}

/**
 * JSON.parse silently keeps the last of duplicate keys, which would make two
 * different documents canonicalise to the same bytes. Only called on text that
 * already parsed, so the scanner can assume well-formed JSON.
 */
function findDuplicateKey(text: string): string | undefined {
  if (!text.includes("{")) return undefined;
  const stack: Array<Set<string> | null> = [];
  let i = 0;
  let expectKey = false;
  while (i < text.length) {
    const c = text[i];
    if (c === "{") {
      stack.push(new Set());
      expectKey = true;
      i++;
    } else if (c === "[") {
      stack.push(null);
      expectKey = false;
      i++;
    } else if (c === "}" || c === "]") {
      stack.pop();
      i++;
    } else if (c === ",") {
      expectKey = stack[stack.length - 1] instanceof Set;
      i++;
    } else if (c === '"') {
      const j = stringEnd(text, i);
      if (expectKey) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        const keys = stack[stack.length - 1];
        if (keys instanceof Set) {
          if (keys.has(key)) return key;
          keys.add(key);
        }
        expectKey = false;
      }
      i = j + 1;
    } else i++;
  }
  return undefined;
}
