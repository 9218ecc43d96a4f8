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
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      depth++;
      if (depth > max) max = depth;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
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
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
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
