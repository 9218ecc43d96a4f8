import type { Logger } from "../ports/logger.js";

/** Logs a warning when a store buffer's fill crosses a configured level upwards, and when it falls back. */
export class FillAlerts {
  readonly #levels: readonly number[];
  readonly #current = new Map<string, number>();

  constructor(
    levels: readonly number[],
    private readonly logger: Logger,
  ) {
    this.#levels = [...levels].sort((a, b) => a - b);
  }

  observe(category: string, percent: number): void {
    const level = this.#levels.filter((l) => percent >= l).at(-1) ?? 0;
    const before = this.#current.get(category) ?? 0;
    if (level === before) return;
    this.#current.set(category, level);
    if (level > before) {
      this.logger.warn(
        { category, fillPercent: Math.round(percent * 10) / 10, level },
        "store buffer filling up",
      );
    } else {
      this.logger.info(
        { category, fillPercent: Math.round(percent * 10) / 10, level },
        "store buffer fill back below level",
      );
    }
  }
}
