export interface Hasher {
  /** Lower-case hex SHA-256 of the UTF-8 bytes of `text`. */
  sha256Hex(text: string): string;
}
