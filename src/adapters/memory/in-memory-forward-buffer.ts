import { DomainError } from "../../domain/errors.js";
import type { StoredFact } from "../../domain/fact.js";
import type { ForwardBuffer } from "../../ports/forward-buffer.js";

export interface ImportedFact {
  readonly offset: number;
  readonly sourceZone: string;
  readonly sourceOffset: number;
  readonly fact: StoredFact;
}

/** Forward buffers in process memory, for unit tests of the core. */
export class InMemoryForwardBuffer implements ForwardBuffer {
  readonly #streams = new Map<string, ImportedFact[]>();
  #failNext = 0;

  async highWaterMark(peer: string, category: string): Promise<number> {
    const mine = this.facts(category).filter((f) => f.sourceZone === peer);
    return mine.at(-1)?.sourceOffset ?? 0;
  }

  async append(peer: string, category: string, facts: readonly StoredFact[]): Promise<void> {
    await Promise.resolve();
    if (this.#failNext > 0) {
      this.#failNext--;
      throw new DomainError("unavailable", "forward buffer unavailable (test)");
    }
    const stream = this.#streams.get(category) ?? [];
    const hwm = await this.highWaterMark(peer, category);
    let expected = hwm;
    for (const fact of facts) {
      if (fact.offset <= expected) {
        throw new DomainError("precondition_failed", `source offset ${fact.offset} is not above ${expected}`);
      }
      expected = fact.offset;
    }
    for (const fact of facts) {
      stream.push({ offset: stream.length + 1, sourceZone: peer, sourceOffset: fact.offset, fact });
    }
    this.#streams.set(category, stream);
  }

  facts(category: string): readonly ImportedFact[] {
    return this.#streams.get(category) ?? [];
  }

  /** Test control: make the next `n` appends fail as if the substrate were down. */
  failNext(n: number): void {
    this.#failNext = n;
  }
}
