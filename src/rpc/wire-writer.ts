/** Bytes of a non-negative safe integer as a varint (offsets pass 2^32, so no bit shifts). */
export function varintSize(n: number): number {
  let size = 1;
  while (n > 127) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

export function writeVarint(into: Uint8Array, at: number, n: number): number {
  while (n > 127) {
    into[at++] = (n % 128) | 128;
    n = Math.floor(n / 128);
  }
  into[at++] = n;
  return at;
}
