import { authorizeConsumer, type ConsumerSpec } from "../domain/consumer-policy.js";
import { DomainError } from "../domain/errors.js";
import type { StoredFact } from "../domain/fact.js";
import type { ConsumerObserver } from "../ports/consumer-observer.js";
import type { CursorStore } from "../ports/cursor-store.js";
import type { FactLog, StoredRecord } from "../ports/fact-log.js";

export interface ConsumerReadsOptions {
  readonly consumers: ReadonlyMap<string, ConsumerSpec>;
  readonly log: FactLog;
  readonly cursors: CursorStore;
  readonly observer: ConsumerObserver;
  /** Used when a request asks for 0 facts. */
  readonly defaultLimit: number;
  readonly maxLimit: number;
  readonly maxWaitMs: number;
}

/**
 * FetchFacts and ConfirmReceipt (ARCHITECTURE §3): reads start right after
 * the durable cursor (or a later offset the caller already holds), so an
 * unconfirmed fetch is repeated exactly, in order, after any crash of the
 * consumer, the node or NATS.
 */
export class ConsumerReads {
  readonly #o: ConsumerReadsOptions;
  /** The highest offset handed out per consumer since this node started. */
  readonly #handedOut = new Map<string, number>();

  constructor(options: ConsumerReadsOptions) {
    this.#o = options;
  }

  async fetch(
    principal: string,
    name: string,
    limit: number,
    waitMs: number,
    /** Ends a long-poll early (the node is draining or the client went away). */
    signal?: AbortSignal,
    /** Read after this offset rather than after the cursor (a pipelining receiver). */
    afterOffset?: number,
  ): Promise<{ facts: StoredFact[]; cursor: number }> {
    const { items, cursor } = await this.#fetch(principal, name, limit, waitMs, signal, afterOffset, (...a) =>
      this.#o.log.read(...a),
    );
    return { facts: items, cursor };
  }

  /** `fetch`, with each fact as its buffer stores it (a peer node forwards it as it is). */
  async fetchRecords(
    principal: string,
    name: string,
    limit: number,
    waitMs: number,
    signal?: AbortSignal,
    afterOffset?: number,
  ): Promise<{ records: StoredRecord[]; cursor: number }> {
    const { items, cursor } = await this.#fetch(principal, name, limit, waitMs, signal, afterOffset, (...a) =>
      this.#o.log.readRecords(...a),
    );
    return { records: items, cursor };
  }

  async #fetch<T extends { readonly offset: number }>(
    principal: string,
    name: string,
    limit: number,
    waitMs: number,
    signal: AbortSignal | undefined,
    afterOffset: number | undefined,
    read: (
      spec: ConsumerSpec,
      after: number,
      limit: number,
      waitMs: number,
      signal?: AbortSignal,
    ) => Promise<T[]>,
  ): Promise<{ items: T[]; cursor: number }> {
    const spec = authorizeConsumer(this.#o.consumers, name, principal);
    if (limit > this.#o.maxLimit) {
      throw new DomainError("invalid_input", `limit: at most ${this.#o.maxLimit} facts per fetch`, {
        field: "limit",
      });
    }
    if (waitMs > this.#o.maxWaitMs) {
      throw new DomainError("invalid_input", `wait_ms: at most ${this.#o.maxWaitMs}`, { field: "wait_ms" });
    }
    const cursor = await this.#o.cursors.get(name);
    const after = Math.max(cursor, afterOffset ?? cursor);
    // Past the head, facts stored later in between would be skipped unseen. An
    // offset this node handed out itself exists, so a pipelining receiver's
    // read-ahead costs no extra look at the head.
    if (after > cursor && after > (this.#handedOut.get(name) ?? 0))
      await this.#notBeyondHead(spec, "after_offset", after);
    const items = await read(spec, after, limit === 0 ? this.#o.defaultLimit : limit, waitMs, signal);
    const last = items.at(-1);
    if (last !== undefined && last.offset > (this.#handedOut.get(name) ?? 0))
      this.#handedOut.set(name, last.offset);
    this.#o.observer.fetched(name, items.length);
    return { items, cursor };
  }

  async confirm(principal: string, name: string, offset: number): Promise<number> {
    const spec = authorizeConsumer(this.#o.consumers, name, principal);
    // An offset this node handed out exists: advance (which never regresses)
    // decides on its own. Any other offset is checked against the head first,
    // unless the cursor is already there.
    if (offset > (this.#handedOut.get(name) ?? 0)) {
      const current = await this.#o.cursors.get(name);
      if (offset <= current) {
        this.#o.observer.confirmed(name, current);
        return current;
      }
      await this.#notBeyondHead(spec, "offset", offset);
    }
    const cursor = await this.#o.cursors.advance(name, offset);
    this.#o.observer.confirmed(name, cursor);
    return cursor;
  }

  async #notBeyondHead(spec: ConsumerSpec, field: string, offset: number): Promise<void> {
    const head = await this.#o.log.head(spec);
    if (offset > head) {
      throw new DomainError(
        "precondition_failed",
        `${field}: ${offset} is beyond the last stored fact (${head}) of consumer "${spec.name}"`,
        { field },
      );
    }
  }

  /** The durable cursor of every consumer (for status and metrics after restarts). */
  async cursors(): Promise<Map<string, number>> {
    const names = [...this.#o.consumers.keys()];
    const values = await Promise.all(names.map((n) => this.#o.cursors.get(n)));
    return new Map(names.map((n, i) => [n, values[i] ?? 0]));
  }
}
