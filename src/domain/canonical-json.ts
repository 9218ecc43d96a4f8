import canonicalize from "canonicalize";
import { invalidField } from "./errors.js";

/**
 * Parses `text` as one JSON value and returns its RFC 8785 canonical form.
 * Rejects what RFC 8785 cannot represent faithfully (I-JSON): duplicate object
 * keys, lone surrogates, and nesting deeper than `maxDepth` (checked before
 * parsing, so a hostile document cannot exhaust the stack of the recursive
 * walk or canonicaliser).
 *
 * Every appended fact comes through here, so the common case takes a native
 * path: when every object's keys already come in code-unit order,
 * `JSON.stringify` of the parsed value writes exactly the RFC 8785 bytes (it
 * serialises strings and numbers as RFC 8785 prescribes, and keys in the order
 * they enumerate). Only documents with unsorted keys go through the general
 * canonicaliser. Duplicates are found by counting: each `:` outside strings
 * separates one key from its value, and JSON.parse keeps one key per name.
 */
export function toCanonicalJson(text: string, field: string, maxDepth: number): string {
  const structure = scanStructure(text);
  if (structure.depth > maxDepth)
    throw invalidField(field, `JSON nesting depth ${structure.depth} exceeds the limit of ${maxDepth}`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw invalidField(field, `not valid JSON (${(error as Error).message})`);
  }
  const shape = { keys: 0, sorted: true, finite: true };
  walkValues(value, shape);
  if (shape.keys !== structure.colons) {
    const duplicateKey = findDuplicateKey(text) ?? "";
    throw invalidField(
      field,
      `duplicate object key ${JSON.stringify(duplicateKey)} (RFC 8785 requires I-JSON)`,
    );
  }
  // JSON.parse turns 1e400 into Infinity, which JSON.stringify would write as null.
  if (!shape.finite)
    throw invalidField(field, "holds a number beyond the range of a double, which RFC 8785 cannot represent");
  if (MAY_HOLD_A_SURROGATE.test(text)) {
    const lone = findLoneSurrogate(value);
    if (lone !== undefined)
      throw invalidField(
        field,
        `holds a lone surrogate (\\u${lone.toString(16)}), which RFC 8785 cannot represent`,
      );
  }
  const canonical = shape.sorted ? JSON.stringify(value) : canonicalize(value);
  if (canonical === undefined) throw invalidField(field, "not a JSON value");
  return canonical;
}

/**
 * A surrogate code unit, raw or escaped (`\uD800`–`\uDFFF`). With none
 * anywhere in the text, no parsed string can hold a lone surrogate; a match
 * (an escaped backslash before `ud8…` included) only costs the exact check.
 */
const MAY_HOLD_A_SURROGATE = /[\ud800-\udfff]|\\u[dD][89a-fA-F]/;

/**
 * Counts the keys of every object in `value`, and notes whether each object's
 * keys enumerate in code-unit order and whether every number is finite.
 */
function walkValues(value: unknown, shape: { keys: number; sorted: boolean; finite: boolean }): void {
  if (typeof value === "number") {
    if (!Number.isFinite(value)) shape.finite = false;
    return;
  }
  if (value === null || typeof value !== "object") return;
  if (Array.isArray(value)) {
    for (const item of value) walkValues(item, shape);
    return;
  }
  let previous = "";
  let first = true;
  for (const key in value) {
    shape.keys++;
    if (!first && !(previous < key)) shape.sorted = false;
    first = false;
    previous = key;
    walkValues((value as Record<string, unknown>)[key], shape);
  }
}

/** The first lone surrogate code unit in any string or key of `value`. */
function findLoneSurrogate(value: unknown): number | undefined {
  if (typeof value === "string") return loneSurrogateIn(value);
  if (value === null || typeof value !== "object") return undefined;
  if (Array.isArray(value)) {
    for (const item of value) {
      const lone = findLoneSurrogate(item);
      if (lone !== undefined) return lone;
    }
    return undefined;
  }
  for (const key in value) {
    const lone = loneSurrogateIn(key) ?? findLoneSurrogate((value as Record<string, unknown>)[key]);
    if (lone !== undefined) return lone;
  }
  return undefined;
}

function loneSurrogateIn(text: string): number | undefined {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    const next = text.charCodeAt(i + 1);
    if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) i++;
    else return c;
  }
  return undefined;
}

/** Bracket nesting and `:` count outside string literals, in one linear, allocation-free pass. */
function scanStructure(text: string): { depth: number; colons: number } {
  let depth = 0;
  let max = 0;
  let colons = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) i = stringEnd(text, i);
    else if (c === 0x3a) colons++;
    else if (c === 0x7b || c === 0x5b) {
      depth++;
      if (depth > max) max = depth;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return { depth: max, colons };
}

/** Maximum bracket nesting outside string literals; linear and allocation-free. */
export function nestingDepth(text: string): number {
  return scanStructure(text).depth;
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
