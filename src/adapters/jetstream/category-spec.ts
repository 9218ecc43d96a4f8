/** How one category's store buffer is laid out in JetStream (from config). */
export interface CategorySpec {
  readonly name: string;
  /** 0 = keep forever. */
  readonly maxAgeMs: number;
  /** -1 = unlimited. */
  readonly maxBytes: number;
  readonly maxMsgs: number;
  readonly maxMsgBytes: number;
  readonly replicas: number;
  readonly storage: "file" | "memory";
  /** `index`: zone-wide create-if-absent for the fact's retention; `window`: JetStream's time window. */
  readonly dedup: "index" | "window";
  readonly duplicateWindowMs: number;
}

export const storeStreamName = (category: string): string => `facts_${category}`;
export const INDEX_STREAM = "bsfg_index";
export const INDEX_SUBJECT_PREFIX = "bsfg.index";

/**
 * Message ids may contain `.` (a subject token separator) and start or end
 * with it, so they are base64url-encoded to stay one valid subject token.
 */
export function encodeToken(value: string): string {
  return Buffer.from(value, "utf8").toString("base64url");
}

export function indexSubject(messageId: string): string {
  return `${INDEX_SUBJECT_PREFIX}.${encodeToken(messageId)}`;
}

/**
 * `facts.<category>.<to_zone>.<kind>[.<id>]`: destination and kind let a
 * peer's consumer filter on its own zone; index mode adds the id so the write
 * itself is a create-if-absent on a per-fact subject.
 */
export function factSubject(spec: CategorySpec, toZone: string, kind: string, messageId: string): string {
  const base = `facts.${spec.name}.${toZone}.${kind}`;
  return spec.dedup === "index" ? `${base}.${encodeToken(messageId)}` : base;
}
