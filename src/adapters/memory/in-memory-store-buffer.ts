import { DomainError } from "../../domain/errors.js";
import type { FactRecord, StoredFact } from "../../domain/fact.js";
import type { StoreBuffer, StoreOutcome } from "../../ports/store-buffer.js";

/** A StoreBuffer in process memory, for unit tests of the core; zone-wide index semantics. */
export class InMemoryStoreBuffer implements StoreBuffer {
  readonly #byId = new Map<string, StoredFact>();
  readonly #streams = new Map<string, StoredFact[]>();
  readonly #fill = new Map<string, number>();
  #unavailable = false;

  constructor(readonly categories: readonly string[]) {
    for (const c of categories) this.#streams.set(c, []);
  }

  async append(records: readonly FactRecord[]): Promise<Array<StoreOutcome | DomainError>> {
    // Yield once so concurrent callers interleave the way they would over a network.
    await Promise.resolve();
    return records.map((record) => this.#appendOne(record));
  }

  fillPercent(category: string): number {
    return this.#fill.get(category) ?? 0;
  }

  /** Test control: pretend the buffer is this full. */
  setFillPercent(category: string, percent: number): void {
    this.#fill.set(category, percent);
  }

  /** Test control: make every append fail as if the substrate were down. */
  setUnavailable(unavailable: boolean): void {
    this.#unavailable = unavailable;
  }

  facts(category: string): readonly StoredFact[] {
    return this.#streams.get(category) ?? [];
  }

  #appendOne(record: FactRecord): StoreOutcome | DomainError {
    if (this.#unavailable) return new DomainError("unavailable", "store buffer unavailable");
    const stream = this.#streams.get(record.category);
    if (stream === undefined)
      return new DomainError("internal", `no store buffer for category ${record.category}`);
    const existing = this.#byId.get(record.envelope.messageId);
    if (existing !== undefined) {
      return {
        kind: "existing",
        offset: existing.offset,
        category: existing.category,
        digest: existing.digest,
      };
    }
    const stored: StoredFact = { ...record, offset: stream.length + 1 };
    stream.push(stored);
    this.#byId.set(record.envelope.messageId, stored);
    return { kind: "stored", offset: stored.offset };
  }
}
