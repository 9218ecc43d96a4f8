import { DomainError } from "../domain/errors.js";
import type { StoredFact } from "../domain/fact.js";
import type { Hasher } from "../ports/hasher.js";
import type { ObjectStore } from "../ports/object-store.js";
import type { PeerLink } from "../ports/peer-link.js";
import type { ReferenceRegistry } from "../ports/reference-registry.js";
import type { ArtifactReference } from "./artifacts.js";

/**
 * Copies the artifact a fact references from the peer into this zone's
 * object store, verified against the fact's digest, before the fact may
 * become visible here (so no consumer ever sees a dangling reference). The
 * staging id is derived from the reference, so a copy cut by a partition or
 * a crash resumes from the bytes already stored instead of starting over.
 */
export class ArtifactMirror {
  constructor(
    private readonly store: ObjectStore,
    private readonly references: ReferenceRegistry,
    private readonly hasher: Hasher,
    /** Reports each finished copy (bytes moved over the boundary; 0 when already present). */
    private readonly onCopied: (bytes: number, outcome: "ok" | "failed") => void = () => {},
  ) {}

  async ensure(link: PeerLink, fact: StoredFact, signal: AbortSignal): Promise<void> {
    if (fact.envelope.objectMediaType === "") return;
    const ref = JSON.parse(fact.fact.objectJson) as ArtifactReference;
    if (!/^sha256:[0-9a-f]{64}$/.test(ref.digest)) {
      throw new DomainError(
        "precondition_failed",
        `fact ${fact.envelope.messageId}: artifact reference without a usable digest`,
      );
    }
    await this.references.hold(ref.bucket, ref.key);
    const uploadId = `mirror-${this.hasher.sha256Hex(`${ref.bucket}\n${ref.key}\n${ref.digest}`).slice(0, 32)}`;
    try {
      const result = await this.store.putResumable(
        ref.bucket,
        ref.key,
        fact.envelope.objectMediaType,
        uploadId,
        (offset) => link.getObject(ref.bucket, ref.key, offset, signal),
        { size: ref.size, sha256: ref.digest.slice("sha256:".length), maxBytes: Number.MAX_SAFE_INTEGER },
      );
      if (result.created) this.onCopied(result.info.size, "ok");
    } catch (error) {
      this.onCopied(0, "failed");
      throw error;
    }
  }
}
