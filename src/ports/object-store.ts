/** What the node knows about a stored artifact. */
export interface ObjectInfo {
  readonly bucket: string;
  readonly key: string;
  readonly mediaType: string;
  readonly size: number;
  /** `sha256:<hex>`. */
  readonly digest: string;
  readonly storedAtUnixMs: number;
}

export interface PutExpectations {
  /** Declared size; a different byte count fails the put with nothing left behind. */
  readonly size?: number;
  /** Declared SHA-256 (lower-case hex). */
  readonly sha256?: string;
  /** Hard limit: the put fails `too_large` as soon as more bytes arrive. */
  readonly maxBytes: number;
}

export interface PutResult {
  readonly info: ObjectInfo;
  /** False when the key already held exactly these bytes (idempotent retry). */
  readonly created: boolean;
}

/**
 * The zone's artifact buckets. Keys are immutable: once written, a key keeps
 * its bytes for its whole retention.
 */
export interface ObjectStore {
  stat(bucket: string, key: string): Promise<ObjectInfo | undefined>;
  /**
   * Streams `chunks` into `bucket/key`, hashing on the way, with memory
   * bounded independently of the object size. Verifies the expectations
   * before the object becomes visible. Throws `precondition_failed` (size or
   * digest mismatch), `too_large`, `already_exists` (the key holds other
   * bytes; details name the existing digest) or `unavailable`; on any failure
   * nothing of this put remains visible.
   */
  put(
    bucket: string,
    key: string,
    mediaType: string,
    chunks: AsyncIterable<Uint8Array>,
    expect: PutExpectations,
  ): Promise<PutResult>;
  /**
   * Like put, for copying an object from elsewhere under a caller-chosen
   * `uploadId` that survives crashes: bytes already staged under that id are
   * kept (re-hashed locally) and `source(offset)` is asked only for the rest.
   * A network failure keeps the staged bytes for the next attempt; a digest or
   * size mismatch discards them.
   */
  putResumable(
    bucket: string,
    key: string,
    mediaType: string,
    uploadId: string,
    source: (offset: number) => AsyncIterable<Uint8Array>,
    expect: PutExpectations,
  ): Promise<PutResult>;
  /**
   * The object's info and its bytes from byte `offset` on, read lazily: the
   * next chunk is fetched only when the consumer asks for it. Throws `not_found`.
   */
  get(
    bucket: string,
    key: string,
    offset?: number,
  ): Promise<{ info: ObjectInfo; chunks: AsyncIterable<Uint8Array> }>;
}
