import type { UnknownField } from "@bufbuild/protobuf";
import { WireType } from "@bufbuild/protobuf/wire";
import { fieldOf, WireReader, wireTypeOf } from "./wire-reader.js";
import { varintSize, writeVarint } from "./wire-writer.js";

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

/**
 * One encoded StoredRecord, read by hand: the receiving side of
 * `recordsAsUnknownFields` (FetchFactsResponseView keeps each record as its
 * bytes). `json` is a view into `bytes`, not a copy. Offsets past 2^53 lose
 * precision as Number(bigint) would.
 */
export function readStoredRecord(bytes: Uint8Array): { offset: number; json: Uint8Array } {
  let offset = 0;
  let json: Uint8Array = EMPTY;
  const reader = new WireReader(bytes);
  while (reader.at < bytes.length) {
    const tag = reader.varint("tag");
    const field = fieldOf(tag);
    const wireType = wireTypeOf(tag);
    if (field === 1 && wireType === WireType.Varint) offset = reader.varint("offset");
    else if (field === 2 && wireType === WireType.LengthDelimited)
      json = reader.bytesField("json", bytes.length);
    else reader.skip(wireType, `field ${field}`, bytes.length);
  }
  return { offset, json };
}

const EMPTY = new Uint8Array(0);
