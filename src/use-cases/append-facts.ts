import { DomainError, isDomainError } from "../domain/errors.js";
import type { AppendRequest, AppendResult, FactRecord } from "../domain/fact.js";
import { digestInput } from "../domain/fact-digest.js";
import { type FactLimits, validateAppend } from "../domain/fact-validation.js";
import { mayAppend, type ZonePolicy } from "../domain/zone-policy.js";
import type { AppendObserver } from "../ports/append-observer.js";
import type { Clock } from "../ports/clock.js";
import type { Hasher } from "../ports/hasher.js";
import type { Logger } from "../ports/logger.js";
import type { StoreBuffer, StoreOutcome } from "../ports/store-buffer.js";
import type { ArtifactReference } from "./artifacts.js";
import { FactPermits } from "./fact-permits.js";

export interface AppendFactsOptions {
  readonly policy: ZonePolicy;
  readonly limits: FactLimits & { readonly maxBatchItems: number; readonly maxFactsInFlight: number };
  /** Appends are refused with back_pressure at or above this fill of a store buffer. */
  readonly backPressurePercent: number;
  readonly store: StoreBuffer;
  readonly hasher: Hasher;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly observer: AppendObserver;
  /** Checks that a referenced artifact is stored here with that digest and size. */
  readonly artifacts?: { checkReference(ref: ArtifactReference): Promise<void> };
}

type Prepared = { readonly record: FactRecord } | { readonly error: DomainError };

/**
 * AppendFact / AppendFacts: validate, authorize, canonicalise, digest, then
 * store with zone-wide idempotency by message_id (ARCHITECTURE §5).
 */
export class AppendFacts {
  readonly #o: AppendFactsOptions;
  readonly #permits: FactPermits;

  constructor(options: AppendFactsOptions) {
    this.#o = options;
    this.#permits = new FactPermits(options.limits.maxFactsInFlight, (facts) =>
      options.observer.queued(facts),
    );
  }

  /** One fact; throws a DomainError on any failure. */
  async appendOne(principal: string, request: AppendRequest, signal?: AbortSignal): Promise<AppendResult> {
    const [result] = await this.appendMany(principal, [request], signal);
    if (result === undefined) throw new DomainError("internal", "append produced no result");
    if (isDomainError(result)) throw result;
    return result;
  }

  /**
   * A batch: one result or error per item, in item order; items fail
   * independently. `signal` is the caller's: once it aborts, a batch still
   * waiting for capacity is dropped whole; one already storing runs to the end.
   */
  async appendMany(
    principal: string,
    requests: readonly AppendRequest[],
    signal?: AbortSignal,
  ): Promise<Array<AppendResult | DomainError>> {
    const { maxBatchItems } = this.#o.limits;
    if (requests.length > maxBatchItems) {
      throw new DomainError(
        "too_large",
        `items: ${requests.length} items exceed the batch limit of ${maxBatchItems}`,
        {
          field: "items",
        },
      );
    }
    // Taken before validation: a waiting request holds only its decoded message.
    const permits = await this.#permits.acquire(requests.length, signal);
    try {
      return await this.#appendPermitted(principal, requests);
    } finally {
      this.#permits.release(permits);
    }
  }

  async #appendPermitted(
    principal: string,
    requests: readonly AppendRequest[],
  ): Promise<Array<AppendResult | DomainError>> {
    const prepared = await Promise.all(requests.map((r) => this.#checkArtifact(this.#prepare(principal, r))));

    // A batch may carry the same message_id twice; the store would see the
    // second as an in-flight claim without an offset, so the first occurrence
    // stands for both and later ones are resolved against it here.
    const firstIndexById = new Map<string, number>();
    const toStore: FactRecord[] = [];
    const storeSlot: number[] = [];
    prepared.forEach((p, i) => {
      if (!("record" in p)) return;
      const id = p.record.envelope.messageId;
      if (firstIndexById.has(id)) return;
      firstIndexById.set(id, i);
      storeSlot[i] = toStore.length;
      toStore.push(p.record);
    });

    const outcomes = toStore.length > 0 ? await this.#o.store.append(toStore) : [];
    return prepared.map((p, i) => {
      if (!("record" in p)) return p.error;
      const first = firstIndexById.get(p.record.envelope.messageId) as number;
      const outcome = outcomes[storeSlot[first] as number];
      if (outcome === undefined) return new DomainError("internal", "store returned too few results");
      if (isDomainError(outcome)) return outcome;
      if (first !== i)
        return this.#resolveRepeat(p.record, toStore[storeSlot[first] as number] as FactRecord, outcome);
      return this.#resolve(p.record, outcome);
    });
  }

  #prepare(principal: string, request: AppendRequest): Prepared {
    try {
      const valid = validateAppend(request, this.#o.policy, this.#o.limits);
      if (!mayAppend(this.#o.policy, principal, valid.category)) {
        this.#o.logger.warn(
          { principal, category: valid.category, messageId: valid.envelope.messageId },
          "append denied",
        );
        return {
          error: new DomainError(
            "permission_denied",
            `principal "${principal}" may not append to category "${valid.category}"`,
            { field: "category" },
          ),
        };
      }
      const fill = this.#o.store.fillPercent(valid.category);
      if (fill >= this.#o.backPressurePercent) {
        return {
          error: new DomainError(
            "back_pressure",
            `store buffer of category "${valid.category}" is ${fill.toFixed(1)}% full (back-pressure from ${this.#o.backPressurePercent}%); retry later`,
          ),
        };
      }
      const digest = `sha256:${this.#o.hasher.sha256Hex(digestInput(valid))}`;
      return { record: { ...valid, digest, storedAtUnixMs: this.#o.clock.nowMs() } };
    } catch (error) {
      if (isDomainError(error)) return { error };
      throw error;
    }
  }

  async #checkArtifact(p: Prepared): Promise<Prepared> {
    const checker = this.#o.artifacts;
    if (!("record" in p) || p.record.envelope.objectMediaType === "" || checker === undefined) return p;
    try {
      await checker.checkReference(JSON.parse(p.record.fact.objectJson) as ArtifactReference);
      return p;
    } catch (error) {
      if (isDomainError(error)) return { error };
      throw error;
    }
  }

  #resolve(record: FactRecord, outcome: StoreOutcome): AppendResult | DomainError {
    if (outcome.kind === "stored")
      return { offset: outcome.offset, category: record.category, duplicate: false };
    if (outcome.digest === record.digest) {
      this.#o.observer.duplicate(outcome.category);
      return { offset: outcome.offset, category: outcome.category, duplicate: true };
    }
    return this.#conflict(record, outcome.offset, outcome.category);
  }

  #resolveRepeat(
    record: FactRecord,
    first: FactRecord,
    firstOutcome: StoreOutcome,
  ): AppendResult | DomainError {
    const offset = firstOutcome.offset;
    const category = firstOutcome.kind === "existing" ? firstOutcome.category : first.category;
    const digest = firstOutcome.kind === "existing" ? firstOutcome.digest : first.digest;
    if (digest === record.digest) {
      this.#o.observer.duplicate(category);
      return { offset, category, duplicate: true };
    }
    return this.#conflict(record, offset, category);
  }

  #conflict(record: FactRecord, existingOffset: number, existingCategory: string): DomainError {
    this.#o.observer.conflict(record.category);
    this.#o.logger.warn(
      { messageId: record.envelope.messageId, category: record.category, existingCategory, existingOffset },
      "conflicting duplicate rejected",
    );
    return new DomainError(
      "already_exists",
      `envelope.message_id: "${record.envelope.messageId}" was already used for different content (stored at ${existingCategory} offset ${existingOffset})`,
      { field: "envelope.message_id", existingOffset, existingCategory },
    );
  }
}
