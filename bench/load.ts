/**
 * The one closed-loop load generator every RPC/publish phase uses, plus the
 * small helpers around it (300-byte facts, percentiles, /proc RSS sampling).
 */
import { readFileSync } from "node:fs";

export interface LoadResult {
  readonly calls: number;
  readonly items: number;
  readonly errors: number;
  readonly seconds: number;
  readonly callsPerSecond: number;
  readonly itemsPerSecond: number;
  readonly firstError?: string;
}

/**
 * `concurrency` workers each loop `call(i, worker)` until `total` calls were
 * started or `maxMs` elapsed (both bounds always apply). `call` resolves with
 * how many items it carried (1 for a unary call, the batch size for a batch).
 */
export async function drive(options: {
  readonly total: number;
  readonly concurrency: number;
  readonly maxMs: number;
  readonly call: (i: number, worker: number) => Promise<number>;
}): Promise<LoadResult> {
  let next = 0;
  let calls = 0;
  let items = 0;
  let errors = 0;
  let firstError: string | undefined;
  const started = performance.now();
  const deadline = started + options.maxMs;
  const worker = async (w: number): Promise<void> => {
    while (next < options.total && performance.now() < deadline) {
      const i = next++;
      try {
        const carried = await options.call(i, w);
        items += carried;
        calls++;
      } catch (error) {
        errors++;
        firstError ??= error instanceof Error ? error.message : String(error);
        // A failing target must not turn the loop into a busy spin.
        if (errors > 1000) return;
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, (_, w) => worker(w)));
  const seconds = (performance.now() - started) / 1000;
  return {
    calls,
    items,
    errors,
    seconds: round(seconds, 3),
    callsPerSecond: Math.round(calls / seconds),
    itemsPerSecond: Math.round(items / seconds),
    ...(firstError === undefined ? {} : { firstError }),
  };
}

export const FACT_BYTES = 300;

/** A JSON object of exactly FACT_BYTES bytes, distinct per `i`. */
export function objectJson(i: number): string {
  const head = `{"n":${i},"pad":"`;
  return `${head}${"x".repeat(FACT_BYTES - head.length - 2)}"}`;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx] as number;
}

export function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export function rssMiB(pid: number | undefined): number | undefined {
  if (pid === undefined || pid <= 0) return undefined;
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match === null ? undefined : round(Number(match[1]) / 1024, 1);
  } catch {
    return undefined;
  }
}

/** Samples VmRSS of named processes every `everyMs` and keeps the peak and the last value. */
export class RssSampler {
  readonly #pids: Record<string, () => number | undefined>;
  readonly #peak = new Map<string, number>();
  readonly #last = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;

  constructor(pids: Record<string, () => number | undefined>, everyMs = 200) {
    this.#pids = pids;
    this.#sample();
    this.#timer = setInterval(() => this.#sample(), everyMs);
  }

  #sample(): void {
    for (const [name, pid] of Object.entries(this.#pids)) {
      const mib = rssMiB(pid());
      if (mib === undefined) continue;
      this.#last.set(name, mib);
      this.#peak.set(name, Math.max(mib, this.#peak.get(name) ?? 0));
    }
  }

  stop(): Record<string, { peakMiB: number; endMiB: number }> {
    this.#sample();
    clearInterval(this.#timer);
    this.#timer = undefined;
    return Object.fromEntries(
      [...this.#peak].map(([name, peakMiB]) => [name, { peakMiB, endMiB: this.#last.get(name) ?? peakMiB }]),
    );
  }
}
