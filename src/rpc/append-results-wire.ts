import type { UnknownField } from "@bufbuild/protobuf";
import { WireType } from "@bufbuild/protobuf/wire";
import type { AppendResult } from "../domain/fact.js";
import { varintSize, writeVarint } from "./wire-writer.js";

/** An item that failed, as bsfg.v1.AppendFactsError carries it. */
export interface ItemError {
  readonly code: string;
  readonly message: string;
  readonly existingOffset: number;
  readonly existingCategory: string;
}

export type ItemOutcome = AppendResult | ItemError;

/** AppendFactsResponse.results, AppendFactsResult's oneof cases (proto/bsfg/v1/boundary.proto). */
const RESULTS_FIELD = 1;
const OK_FIELD = 1;
const ERROR_FIELD = 2;
const LD = WireType.LengthDelimited;
const VARINT = WireType.Varint;

/**
 * AppendFactsResponse `results` encoded here, for binary responses, as the
 * message's unknown fields, which protobuf-es writes as they are: its
 * reflective writer built two messages, their reflection state and a fork per
 * result (about 3 µs per item, measured). The bytes are the repeated field
 * any protobuf decoder reads, fields at their zero value left out as proto3
 * does; the first result's tag comes from the writer, each later one's from
 * here.
 */
export function resultsAsUnknownFields(outcomes: readonly ItemOutcome[]): UnknownField[] {
  if (outcomes.length === 0) return [];
  // Each result's inner message size, worked out once for the sizing and the writing.
  const inner = outcomes.map((outcome) => (isItemError(outcome) ? errorSize(outcome) : okSize(outcome)));
  let size = 0;
  for (const n of inner) {
    const result = resultSize(n);
    size += 1 + varintSize(result) + result;
  }
  const data = Buffer.allocUnsafe(size - 1);
  let at = 0;
  outcomes.forEach((outcome, i) => {
    const n = inner[i] as number;
    if (i > 0) data[at++] = tag(RESULTS_FIELD, LD);
    at = writeVarint(data, at, resultSize(n));
    if (isItemError(outcome)) {
      at = writeVarint(data, writeTag(data, at, ERROR_FIELD, LD), n);
      at = writeString(data, at, 1, outcome.code);
      at = writeString(data, at, 2, outcome.message);
      at = writeUint(data, at, 3, outcome.existingOffset);
      at = writeString(data, at, 4, outcome.existingCategory);
    } else {
      at = writeVarint(data, writeTag(data, at, OK_FIELD, LD), n);
      at = writeUint(data, at, 1, outcome.offset);
      at = writeString(data, at, 2, outcome.category);
      at = writeUint(data, at, 3, outcome.duplicate ? 1 : 0);
    }
  });
  return [{ no: RESULTS_FIELD, wireType: LD, data }];
}

export function isItemError(outcome: ItemOutcome): outcome is ItemError {
  return "code" in outcome;
}

/** An AppendFactsResult: its one oneof case as a length-delimited field around `inner` bytes. */
function resultSize(inner: number): number {
  return 1 + varintSize(inner) + inner;
}

function okSize(ok: AppendResult): number {
  return uintSize(ok.offset) + stringSize(ok.category) + uintSize(ok.duplicate ? 1 : 0);
}

function errorSize(error: ItemError): number {
  return (
    stringSize(error.code) +
    stringSize(error.message) +
    uintSize(error.existingOffset) +
    stringSize(error.existingCategory)
  );
}

function uintSize(n: number): number {
  return n === 0 ? 0 : 1 + varintSize(n);
}

function stringSize(text: string): number {
  if (text === "") return 0;
  const length = Buffer.byteLength(text, "utf8");
  return 1 + varintSize(length) + length;
}

function tag(field: number, wireType: WireType): number {
  return (field << 3) | wireType;
}

function writeTag(into: Buffer, at: number, field: number, wireType: WireType): number {
  into[at] = tag(field, wireType);
  return at + 1;
}

function writeUint(into: Buffer, at: number, field: number, n: number): number {
  if (n === 0) return at;
  return writeVarint(into, writeTag(into, at, field, VARINT), n);
}

function writeString(into: Buffer, at: number, field: number, text: string): number {
  if (text === "") return at;
  const start = writeVarint(into, writeTag(into, at, field, LD), Buffer.byteLength(text, "utf8"));
  return start + into.write(text, start, "utf8");
}
