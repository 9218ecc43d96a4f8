/**
 * The one closed-loop load generator every RPC/publish phase uses, plus the
 * small helpers around it (300-byte facts, percentiles, /proc RSS sampling).
 */
import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
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

/** user + system CPU seconds a process has used so far (/proc/<pid>/stat fields 14 and 15). */
export function cpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined || pid <= 0) return undefined;
  if (pid === process.pid) {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1e6;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name, which is in parentheses and may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

/** sysconf(_SC_CLK_TCK); 100 on every Linux this runs on. */
const CLOCK_TICKS = 100;

export interface ProcessSample {
  readonly peakMiB: number;
  readonly endMiB: number;
  /** CPU seconds the process used between the sampler's start and stop. */
  readonly cpuSeconds?: number;
}

/**
 * Samples VmRSS of named processes every `everyMs` and keeps the peak and the
 * last value; also takes each one's CPU time at start and stop, so a phase can
 * be reported as CPU per fact per process (steadier than rates on a shared box).
 */
export class RssSampler {
  readonly #pids: Record<string, () => number | undefined>;
  readonly #peak = new Map<string, number>();
  readonly #last = new Map<string, number>();
  readonly #cpuAtStart = new Map<string, { pid: number; seconds: number }>();
  #timer: NodeJS.Timeout | undefined;

  constructor(pids: Record<string, () => number | undefined>, everyMs = 200) {
    this.#pids = pids;
    for (const [name, pidOf] of Object.entries(pids)) {
      const pid = pidOf();
      const seconds = cpuSeconds(pid);
      if (pid !== undefined && seconds !== undefined) this.#cpuAtStart.set(name, { pid, seconds });
    }
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

  stop(): Record<string, ProcessSample> {
    this.#sample();
    clearInterval(this.#timer);
    this.#timer = undefined;
    const out: Record<string, ProcessSample> = {};
    for (const [name, pidOf] of Object.entries(this.#pids)) {
      const start = this.#cpuAtStart.get(name);
      // A process restarted during the phase (another pid) has no comparable CPU total.
      const end = start !== undefined && pidOf() === start.pid ? cpuSeconds(start.pid) : undefined;
      const peakMiB = this.#peak.get(name);
      if (peakMiB === undefined) continue;
      out[name] = {
        peakMiB,
        endMiB: this.#last.get(name) ?? peakMiB,
        ...(start !== undefined && end !== undefined ? { cpuSeconds: round(end - start.seconds, 2) } : {}),
      };
    }
    return out;
  }
}

/** CPU microseconds per item of each sampled process, e.g. {"enterprise node": 92}. */
export function cpuPerItem(
  samples: Record<string, ProcessSample> | undefined,
  items: number,
): Record<string, number> {
  const out: Record<string, number> = {};
  if (samples === undefined || items <= 0) return out;
  for (const [name, s] of Object.entries(samples))
    if (s.cpuSeconds !== undefined) out[name] = Math.round((s.cpuSeconds / items) * 1e6);
  return out;
}

/** Ends a child process with SIGTERM (a profiled node writes its profile then) and waits for it to exit. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.kill("SIGTERM");
  await exited;
}
