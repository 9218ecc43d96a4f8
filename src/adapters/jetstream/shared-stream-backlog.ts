import type { ConsumerSpec } from "../../domain/consumer-policy.js";
import type { Backlog } from "./backlog-probe.js";

/** Facts after a cursor that nats-server 2.9 counts for a filtered consumer in a few milliseconds. */
export const CHEAP_COUNT_FACTS = 50_000;
/** The longest a shared stream's per-peer backlog goes without an exact count. */
export const MAX_COUNT_SPACING_MS = 60_000;

export interface SharedStreamBacklogOptions {
  /** The whole stream after the cursor: every peer's facts (an upper bound), O(1); undefined on a hole. */
  readonly whole: (consumer: ConsumerSpec, cursor: number) => Promise<Backlog | undefined>;
  /** The consumer's own facts after the cursor, counted by nats-server (O(facts after the cursor)). */
  readonly count: (consumer: ConsumerSpec, cursor: number) => Promise<Backlog>;
  readonly now: () => number;
  /** How often the backlog is sampled; exact counts are spaced out from this. */
  readonly intervalMs: number;
  /** CHEAP_COUNT_FACTS unless a test needs a smaller stream to show the spacing. */
  readonly cheapFacts?: number;
}

/**
 * The backlog of a peer that shares its store buffer with other peers (a
 * category several peers import). Only a filtered count can tell this peer's
 * facts from theirs, and nats-server 2.9 computes it by walking every fact
 * after the cursor while it holds the stream: ~0.25 s at 300k facts, during
 * which appends to the category wait. So while the stream holds more than
 * CHEAP_COUNT_FACTS after the cursor, exact counts are spaced out in
 * proportion (at most MAX_COUNT_SPACING_MS apart), keeping the stall to a
 * few percent of the time. In between, the last count is reported, never
 * above what the whole stream holds after the cursor, and while the cursor
 * has not passed the oldest fact counted, that fact's age stays exact; once
 * it has, the age is that of the first fact after the cursor in the whole
 * stream, which is at least as old as this peer's oldest (so a retention
 * alarm comes early, never late).
 */
export class SharedStreamBacklog {
  readonly #o: SharedStreamBacklogOptions;
  readonly #counted = new Map<string, { readonly at: number; readonly backlog: Backlog }>();

  constructor(options: SharedStreamBacklogOptions) {
    this.#o = options;
  }

  async probe(consumer: ConsumerSpec, cursor: number): Promise<Backlog> {
    const whole = await this.#o.whole(consumer, cursor);
    if (whole !== undefined && whole.facts === 0) {
      this.#counted.delete(consumer.name);
      return whole;
    }
    const last = this.#counted.get(consumer.name);
    const now = this.#o.now();
    if (
      whole === undefined ||
      last === undefined ||
      now - last.at >= spacingMs(whole.facts, this.#o.intervalMs, this.#o.cheapFacts)
    ) {
      const backlog = await this.#o.count(consumer, cursor);
      this.#counted.set(consumer.name, { at: now, backlog });
      return backlog;
    }
    const facts = Math.min(last.backlog.facts, whole.facts);
    const oldest = last.backlog.oldestOffset;
    if (oldest !== undefined && oldest > cursor) return { ...last.backlog, facts };
    return { facts, oldestStoredAtMs: whole.oldestStoredAtMs, oldestOffset: whole.oldestOffset };
  }
}

/** How long after an exact count the next one is due, for `facts` after the cursor in the whole stream. */
export function spacingMs(facts: number, intervalMs: number, cheapFacts = CHEAP_COUNT_FACTS): number {
  if (facts <= cheapFacts) return 0;
  return Math.min(MAX_COUNT_SPACING_MS, Math.round((intervalMs * facts) / cheapFacts));
}
