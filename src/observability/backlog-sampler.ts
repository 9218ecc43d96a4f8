import type { Backlog } from "../adapters/jetstream/backlog-probe.js";
import type { ConsumerSpec } from "../domain/consumer-policy.js";
import type { Logger } from "../ports/logger.js";

export interface BacklogSamplerOptions {
  readonly consumers: ReadonlyMap<string, ConsumerSpec>;
  readonly cursor: (consumer: string) => Promise<number>;
  readonly probe: (consumer: ConsumerSpec, cursor: number) => Promise<Backlog>;
  readonly record: (consumer: string, cursor: number, facts: number, oldestAgeSeconds: number) => void;
  readonly now: () => number;
  readonly intervalMs: number;
  readonly logger: Logger;
  /** Runs after each round (other periodic views, e.g. JetStream account numbers). */
  readonly afterSample?: () => Promise<void>;
}

/**
 * A round may take at most this share of the time. nats-server 2.9 counts a
 * filtered consumer's pending facts by scanning the stream's per-subject
 * state while it holds the stream, and a store buffer has one subject per
 * fact: at 300k facts one probe takes ~0.2 s, during which appends to that
 * category wait. Rounds that slow are spaced out instead of repeated every
 * interval, but never beyond MAX_SPACING intervals: a round slowed by a NATS
 * outage must not leave the gauges stale long after it ends.
 */
const MAX_BUSY_SHARE = 0.05;
const MAX_SPACING = 12;

/** Samples every consumer's durable cursor and backlog in the background. */
export class BacklogSampler {
  readonly #o: BacklogSamplerOptions;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(options: BacklogSamplerOptions) {
    this.#o = options;
  }

  start(): void {
    const tick = async () => {
      const started = this.#o.now();
      await this.sample();
      if (!this.#stopped) {
        const took = this.#o.now() - started;
        const interval = this.#o.intervalMs;
        const spaced = Math.min(took / MAX_BUSY_SHARE, interval * MAX_SPACING);
        this.#timer = setTimeout(tick, Math.max(interval, spaced));
        this.#timer.unref();
      }
    };
    void tick();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  async sample(): Promise<void> {
    for (const spec of this.#o.consumers.values()) {
      try {
        const cursor = await this.#o.cursor(spec.name);
        const backlog = await this.#o.probe(spec, cursor);
        const age =
          backlog.oldestStoredAtMs === undefined
            ? 0
            : Math.max(0, (this.#o.now() - backlog.oldestStoredAtMs) / 1000);
        this.#o.record(spec.name, cursor, backlog.facts, age);
      } catch (error) {
        this.#o.logger.debug({ err: error, consumer: spec.name }, "backlog sample failed");
      }
    }
    await this.#o
      .afterSample?.()
      .catch((error: unknown) => this.#o.logger.debug({ err: error }, "sample hook failed"));
  }
}
