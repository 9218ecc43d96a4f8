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
      await this.sample();
      if (!this.#stopped) {
        this.#timer = setTimeout(tick, this.#o.intervalMs);
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
