import type { JetStreamManager, StreamState } from "@nats-io/jetstream";
import type { Logger } from "../../ports/logger.js";
import { type CategorySpec, storeStreamName } from "./category-spec.js";

/**
 * Samples each store buffer's fill in the background so the append path can
 * apply back-pressure without a JetStream round trip per request.
 */
export class StreamFillMonitor {
  readonly #specs: readonly CategorySpec[];
  readonly #fill = new Map<string, number>();
  readonly #state = new Map<string, StreamState>();
  #timer: NodeJS.Timeout | undefined;

  constructor(
    specs: readonly CategorySpec[],
    private readonly intervalMs: number,
    private readonly logger: Logger,
    /** Called with every fresh sample (fill alerts). */
    private readonly onSample: (category: string, percent: number) => void = () => {},
  ) {
    this.#specs = specs;
  }

  fillPercent(category: string): number {
    return this.#fill.get(category) ?? 0;
  }

  state(category: string): StreamState | undefined {
    return this.#state.get(category);
  }

  start(jsm: () => JetStreamManager | undefined): void {
    if (this.#timer !== undefined) return;
    const tick = async () => {
      const manager = jsm();
      if (manager !== undefined) await this.sample(manager);
      this.#timer = setTimeout(tick, this.intervalMs);
      this.#timer.unref();
    };
    this.#timer = setTimeout(tick, 0);
    this.#timer.unref();
  }

  stop(): void {
    clearTimeout(this.#timer);
  }

  async sample(jsm: JetStreamManager): Promise<void> {
    await Promise.all(
      this.#specs.map(async (spec) => {
        try {
          const { state } = await jsm.streams.info(storeStreamName(spec.name));
          this.#state.set(spec.name, state);
          this.#fill.set(spec.name, fillOf(spec, state));
          this.onSample(spec.name, fillOf(spec, state));
        } catch (error) {
          // Keep the last sample: an outage must not lift back-pressure.
          this.logger.debug({ err: error, category: spec.name }, "fill sample failed");
        }
      }),
    );
  }
}

export function fillOf(spec: CategorySpec, state: StreamState): number {
  const byBytes = spec.maxBytes > 0 ? (state.bytes / spec.maxBytes) * 100 : 0;
  const byMsgs = spec.maxMsgs > 0 ? (state.messages / spec.maxMsgs) * 100 : 0;
  return Math.max(byBytes, byMsgs);
}
