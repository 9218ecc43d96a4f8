/** Offsets past 2^53 cannot exist in a stream; clamping keeps the "beyond the end" answers. */
export function clampOffset(offset: bigint): number {
  return offset > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(offset);
}
