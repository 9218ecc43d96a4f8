import { DomainError, invalidField } from "../domain/errors.js";
import { SHA256_HEX, validateObjectName } from "../domain/object-names.js";
import type { Logger } from "../ports/logger.js";
import type { ObjectInfo, ObjectStore, PutResult } from "../ports/object-store.js";
import type { ReferenceRegistry } from "../ports/reference-registry.js";

export interface BucketPolicy {
  /** Largest object accepted, in bytes. */
  readonly maxObjectBytes: number;
  readonly put: ReadonlySet<string>;
  readonly get: ReadonlySet<string>;
}

export interface PutHeader {
  readonly bucket: string;
  readonly key: string;
  readonly mediaType: string;
  readonly size?: number;
  readonly sha256?: string;
}

export interface ArtifactReference {
  readonly bucket: string;
  readonly key: string;
  readonly digest: string;
  readonly size: number;
}

export interface ArtifactsOptions {
  readonly buckets: ReadonlyMap<string, BucketPolicy>;
  readonly store: ObjectStore;
  readonly references: ReferenceRegistry;
  readonly logger: Logger;
}

/** PutObject / GetObject and the artifact check of referencing facts (ARCHITECTURE §3). */
export class Artifacts {
  readonly #o: ArtifactsOptions;

  constructor(options: ArtifactsOptions) {
    this.#o = options;
  }

  async put(principal: string, header: PutHeader, chunks: AsyncIterable<Uint8Array>): Promise<PutResult> {
    validateObjectName(header.bucket, header.key, "header.");
    const bucket = this.#bucket(header.bucket, "header.bucket");
    this.#authorize(bucket.put, principal, "put into", header.bucket);
    if (header.sha256 !== undefined && !SHA256_HEX.test(header.sha256)) {
      throw invalidField("header.sha256", "must be 64 lower-case hex digits");
    }
    if (header.size !== undefined && header.size > bucket.maxObjectBytes) {
      throw new DomainError(
        "too_large",
        `header.size: ${header.size} bytes exceeds the bucket's maximum object size of ${bucket.maxObjectBytes}`,
        { field: "header.size" },
      );
    }
    const result = await this.#o.store.put(header.bucket, header.key, header.mediaType, chunks, {
      maxBytes: bucket.maxObjectBytes,
      ...(header.size !== undefined && { size: header.size }),
      ...(header.sha256 !== undefined && { sha256: header.sha256 }),
    });
    this.#o.logger.info(
      { principal, bucket: header.bucket, key: header.key, size: result.info.size, created: result.created },
      "object stored",
    );
    return result;
  }

  async get(
    principal: string,
    bucketName: string,
    key: string,
    offset = 0,
  ): Promise<{ info: ObjectInfo; chunks: AsyncIterable<Uint8Array> }> {
    validateObjectName(bucketName, key);
    const bucket = this.#bucket(bucketName, "bucket");
    this.#authorize(bucket.get, principal, "get from", bucketName);
    return this.#o.store.get(bucketName, key, offset);
  }

  /**
   * A referencing fact is accepted only if exactly those bytes are already
   * stored here. The hold is taken first, so an orphan sweep running at the
   * same moment cannot remove an object a fact is about to reference.
   */
  async checkReference(ref: ArtifactReference): Promise<void> {
    await this.#o.references.hold(ref.bucket, ref.key);
    const info = await this.#o.store.stat(ref.bucket, ref.key).catch((error: unknown) => {
      if (error instanceof DomainError && error.kind === "not_found") return undefined;
      throw error;
    });
    const where = `fact.object_json: artifact ${ref.bucket}/${ref.key}`;
    if (info === undefined) {
      throw new DomainError(
        "precondition_failed",
        `${where} does not exist in this zone; PutObject it first`,
        {
          field: "fact.object_json",
        },
      );
    }
    if (info.digest !== ref.digest || info.size !== ref.size) {
      throw new DomainError(
        "precondition_failed",
        `${where} is stored as ${info.digest} (${info.size} bytes), the fact says ${ref.digest} (${ref.size} bytes)`,
        { field: "fact.object_json" },
      );
    }
  }

  #bucket(name: string, field: string): BucketPolicy {
    const bucket = this.#o.buckets.get(name);
    if (bucket === undefined)
      throw new DomainError("not_found", `${field}: no bucket named "${name}"`, { field });
    return bucket;
  }

  #authorize(allowed: ReadonlySet<string>, principal: string, action: string, bucket: string): void {
    if (!allowed.has(principal) && !allowed.has("*")) {
      this.#o.logger.warn({ principal, bucket, action }, "object access denied");
      throw new DomainError(
        "permission_denied",
        `principal "${principal}" may not ${action} bucket "${bucket}"`,
        {
          field: "bucket",
        },
      );
    }
  }
}
