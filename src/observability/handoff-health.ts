import type { ConsumerSpec } from "../domain/consumer-policy.js";
import type { Logger } from "../ports/logger.js";

export interface HandoffHealthOptions {
  readonly consumers: ReadonlyMap<string, ConsumerSpec>;
  /** max_age of each category in ms (0 = forever). */
  readonly maxAgeMs: (category: string) => number;
  readonly retentionHorizonMs: number;
  readonly stallAfterMs: number;
  readonly logger: Logger;
}

export interface ConsumerHealth {
  /** Seconds before the oldest unconfirmed fact expires (Infinity when the category keeps facts forever). */
  readonly headroomSeconds: number;
  readonly retentionAlarm: boolean;
  readonly stalled: boolean;
}

/**
 * Turns backlog samples into the two alarms operators need: an unconfirmed
 * fact about to age out of its store buffer (the only way BSFG can lose a
 * fact), and "connected but nothing flows" — a backlog whose cursor stands
 * still. Each alarm logs a warning when it starts and an info line when it
 * clears.
 */
export class HandoffHealth {
  readonly #o: HandoffHealthOptions;
  readonly #lastMove = new Map<string, { cursor: number; atMs: number }>();
  readonly #alarms = new Map<string, { retention: boolean; stalled: boolean }>();

  constructor(options: HandoffHealthOptions) {
    this.#o = options;
  }

  assess(
    consumer: string,
    cursor: number,
    backlog: number,
    oldestAgeSeconds: number,
    nowMs: number,
  ): ConsumerHealth {
    const spec = this.#o.consumers.get(consumer);
    const maxAgeMs = spec === undefined ? 0 : this.#o.maxAgeMs(spec.category);
    const headroomSeconds =
      maxAgeMs === 0
        ? Number.POSITIVE_INFINITY
        : (maxAgeMs - (backlog > 0 ? oldestAgeSeconds * 1000 : 0)) / 1000;
    const retention = backlog > 0 && headroomSeconds * 1000 <= this.#o.retentionHorizonMs;

    const last = this.#lastMove.get(consumer);
    if (last === undefined || last.cursor !== cursor || backlog === 0) {
      this.#lastMove.set(consumer, { cursor, atMs: nowMs });
    }
    const since = this.#lastMove.get(consumer)?.atMs ?? nowMs;
    const stalled = backlog > 0 && nowMs - since >= this.#o.stallAfterMs;

    const before = this.#alarms.get(consumer) ?? { retention: false, stalled: false };
    const context = { consumer, category: spec?.category, backlog, oldestAgeSeconds, headroomSeconds };
    if (retention && !before.retention)
      this.#o.logger.warn(context, "retention alarm: unconfirmed facts will reach max_age soon");
    if (!retention && before.retention) this.#o.logger.info(context, "retention alarm cleared");
    if (stalled && !before.stalled)
      this.#o.logger.warn({ ...context, cursor }, "handoff stalled: backlog but no progress");
    if (!stalled && before.stalled) this.#o.logger.info({ ...context, cursor }, "handoff moving again");
    this.#alarms.set(consumer, { retention, stalled });
    return { headroomSeconds, retentionAlarm: retention, stalled };
  }
}
