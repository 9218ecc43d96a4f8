/** Remembers that retained facts reference an artifact, so the orphan sweep keeps it. */
export interface ReferenceRegistry {
  /** Extends the object's hold to cover the retention of a fact referencing it now. */
  hold(bucket: string, key: string): Promise<void>;
}
