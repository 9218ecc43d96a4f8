import { isUtf8 } from "node:buffer";
import { WireType } from "@bufbuild/protobuf/wire";

/** Bytes that are not the protobuf message a reader expected. `field` names where, from the message read. */
export class WireFormatError extends RangeError {
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
    this.name = "WireFormatError";
  }
}

/** The most bytes a 64-bit varint takes. */
const VARINT_MAX = 10;

/**
 * A cursor over protobuf binary for the messages a node reads by hand on its
 * hot paths, where protobuf-es would build a message and its reflection state
 * per item. Fields come in any order, the last of a repeated scalar wins and
 * unknown fields are skipped, as any protobuf decoder does. Varints are read
 * as numbers, exact to 2^53 (past it they lose precision, as Number(bigint)
 * would, and stay beyond any safe integer). Every read names the field it is
 * for, so an error says where the bytes went wrong.
 */
export class WireReader {
  at = 0;
  /** The same bytes, made on the first string read: strings decode in place, without a view object each. */
  #text: Buffer | undefined;

  constructor(readonly bytes: Uint8Array) {}

  varint(field: string): number {
    const bytes = this.bytes;
    let value = 0;
    let scale = 1;
    const last = Math.min(bytes.length, this.at + VARINT_MAX);
    for (let i = this.at; i < last; i++) {
      const b = bytes[i] as number;
      value += (b & 127) * scale;
      if (b < 128) {
        this.at = i + 1;
        return value;
      }
      scale *= 128;
    }
    throw new WireFormatError(field, "truncated or overlong varint");
  }

  /** Reads a field's length and returns where the field ends, after checking it ends by `limit`. */
  delimited(field: string, limit: number): number {
    const length = this.varint(field);
    const end = this.at + length;
    if (end > limit) throw new WireFormatError(field, "runs past the end of its message");
    return end;
  }

  /** A length-delimited field's bytes, as a view (not a copy). */
  bytesField(field: string, limit: number): Uint8Array {
    const end = this.delimited(field, limit);
    const view = this.bytes.subarray(this.at, end);
    this.at = end;
    return view;
  }

  /**
   * A string field, refused unless valid UTF-8 (proto3 strings are, and
   * protobuf-es checks them). Decoding replaces each invalid sequence with
   * U+FFFD, so only text holding one needs the exact check.
   */
  string(field: string, limit: number): string {
    const end = this.delimited(field, limit);
    this.#text ??= Buffer.from(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
    const text = this.#text.toString("utf8", this.at, end);
    if (text.includes("\uFFFD") && !isUtf8(this.bytes.subarray(this.at, end)))
      throw new WireFormatError(field, "a string field holds bytes that are not valid UTF-8");
    this.at = end;
    return text;
  }

  /** Moves past a field this reader does not know. Groups (deprecated since proto2) are refused. */
  skip(wireType: number, field: string, limit: number): void {
    let end: number;
    switch (wireType) {
      case WireType.Varint:
        this.varint(field);
        return;
      case WireType.Bit64:
        end = this.at + 8;
        break;
      case WireType.LengthDelimited:
        end = this.delimited(field, limit);
        break;
      case WireType.Bit32:
        end = this.at + 4;
        break;
      default:
        throw new WireFormatError(field, `unsupported wire type ${wireType}`);
    }
    if (end > limit) throw new WireFormatError(field, "runs past the end of its message");
    this.at = end;
  }
}

/** A tag's field number and wire type; tags stay below 2^32, so no bit shifts on larger values. */
export function fieldOf(tag: number): number {
  return Math.floor(tag / 8);
}

export function wireTypeOf(tag: number): number {
  return tag % 8;
}
