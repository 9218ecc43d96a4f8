import type { UnknownField } from "@bufbuild/protobuf";
import { WireType } from "@bufbuild/protobuf/wire";

/** FetchFactsResponse.records and StoredRecord's fields (proto/bsfg/v1/boundary.proto). */
const RECORDS_FIELD = 3;
const OFFSET_TAG = (1 << 3) | WireType.Varint;
const JSON_TAG = (2 << 3) | WireType.LengthDelimited;
const RECORD_TAG = (RECORDS_FIELD << 3) | WireType.LengthDelimited;

/**
 * FetchFactsResponse `records` encoded here, for binary responses, as the
 * message's unknown fields, which protobuf-es writes as they are. Its
 * reflective writer builds each StoredRecord in a fork of small chunks and
 * copies every record's bytes twice (profiled: ~15 % of a sending node's CPU
 * through a drain); here a batch is one buffer, sized first and written once.
 * The bytes are the same repeated field any protobuf decoder reads: the first
 * record's tag comes from the writer, each later one's from here.
 */
export function recordsAsUnknownFields(
  records: readonly { readonly offset: number; readonly bytes: Uint8Array }[],
): UnknownField[] {
  if (records.length === 0) return [];
  let size = 0;
  for (const r of records) {
    const inner = recordSize(r.offset, r.bytes.length);
    size += 1 + varintSize(inner) + inner;
  }
  const data = new Uint8Array(size - 1);
  let at = 0;
  records.forEach((r, i) => {
    if (i > 0) data[at++] = RECORD_TAG;
    at = writeVarint(data, at, recordSize(r.offset, r.bytes.length));
    if (r.offset !== 0) {
      data[at++] = OFFSET_TAG;
      at = writeVarint(data, at, r.offset);
    }
    if (r.bytes.length !== 0) {
      data[at++] = JSON_TAG;
      at = writeVarint(data, at, r.bytes.length);
      data.set(r.bytes, at);
      at += r.bytes.length;
    }
  });
  return [{ no: RECORDS_FIELD, wireType: WireType.LengthDelimited, data }];
}

/** Whether a request's content type is a binary protobuf one, whose response can carry hand-encoded fields. */
export function isBinaryProto(contentType: string | null): boolean {
  return contentType !== null && BINARY.test(contentType);
}

const BINARY = /^application\/(proto|grpc(-web)?(\+proto)?)(;|$)/i;

/** proto3 leaves out a field at its zero value, and so does this (the bytes match the generated encoding). */
function recordSize(offset: number, length: number): number {
  return (offset === 0 ? 0 : 1 + varintSize(offset)) + (length === 0 ? 0 : 1 + varintSize(length) + length);
}

/** Bytes of a non-negative safe integer as a varint (offsets pass 2^32, so no bit shifts). */
function varintSize(n: number): number {
  let size = 1;
  while (n > 127) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

function writeVarint(into: Uint8Array, at: number, n: number): number {
  while (n > 127) {
    into[at++] = (n % 128) | 128;
    n = Math.floor(n / 128);
  }
  into[at++] = n;
  return at;
}

/**
 * One encoded StoredRecord, read by hand: the receiving side of
 * `recordsAsUnknownFields` (FetchFactsResponseView keeps each record as its
 * bytes). Fields come in any order, the last of a repeated one wins and
 * unknown ones are skipped, as any protobuf decoder does. `json` is a view
 * into `bytes`, not a copy. Offsets past 2^53 lose precision as
 * Number(bigint) would.
 */
export function readStoredRecord(bytes: Uint8Array): { offset: number; json: Uint8Array } {
  let offset = 0;
  let json: Uint8Array = EMPTY;
  let at = 0;
  while (at < bytes.length) {
    const tag = varintAt(bytes, at);
    const field = Math.floor(tag / 8);
    const wireType = tag % 8;
    at = afterVarint(bytes, at);
    if (field === 1 && wireType === WireType.Varint) {
      offset = varintAt(bytes, at);
      at = afterVarint(bytes, at);
    } else if (field === 2 && wireType === WireType.LengthDelimited) {
      const start = afterVarint(bytes, at);
      const end = start + varintAt(bytes, at);
      if (end > bytes.length) throw new RangeError("StoredRecord: json runs past the record's end");
      json = bytes.subarray(start, end);
      at = end;
    } else {
      at = skipField(bytes, at, wireType, field);
    }
  }
  return { offset, json };
}

const EMPTY = new Uint8Array(0);
/** The most bytes a 64-bit varint takes. */
const VARINT_MAX = 10;

function skipField(bytes: Uint8Array, at: number, wireType: number, field: number): number {
  let end: number;
  switch (wireType) {
    case WireType.Varint:
      end = afterVarint(bytes, at);
      break;
    case WireType.Bit64:
      end = at + 8;
      break;
    case WireType.LengthDelimited:
      end = afterVarint(bytes, at) + varintAt(bytes, at);
      break;
    case WireType.Bit32:
      end = at + 4;
      break;
    default:
      throw new RangeError(`StoredRecord: field ${field} has unsupported wire type ${wireType}`);
  }
  if (end > bytes.length) throw new RangeError(`StoredRecord: field ${field} runs past the record's end`);
  return end;
}

/**
 * The varint at `at`, as a number (exact to 2^53). Its end comes from
 * `afterVarint`: two passes over a few bytes instead of a pair allocated per
 * field.
 */
function varintAt(bytes: Uint8Array, at: number): number {
  let value = 0;
  let scale = 1;
  const end = afterVarint(bytes, at);
  for (let i = at; i < end; i++) {
    value += ((bytes[i] as number) & 127) * scale;
    scale *= 128;
  }
  return value;
}

function afterVarint(bytes: Uint8Array, at: number): number {
  for (let i = at; i < bytes.length && i < at + VARINT_MAX; i++) if ((bytes[i] as number) < 128) return i + 1;
  throw new RangeError("StoredRecord: truncated or overlong varint");
}
