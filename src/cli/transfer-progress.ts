import cliProgress from "cli-progress";
import type { CliIo } from "./cli-io.js";

export interface TransferProgress {
  advance(bytes: number): void;
  /** Stops the bar (its redraw timer would keep the process alive); idempotent, also after a failure. */
  finish(): void;
}

const MIB = 1024 * 1024;

/**
 * A progress bar (bytes, rate, ETA) on a terminal; nothing while running
 * otherwise, so logs and pipes stay clean.
 */
export function createTransferProgress(io: CliIo, label: string, totalBytes: number): TransferProgress {
  const terminal = io.terminal;
  if (terminal === undefined || terminal.isTTY !== true) return { advance() {}, finish() {} };
  const started = Date.now();
  const bar = new cliProgress.SingleBar(
    {
      stream: terminal,
      format: `${label} [{bar}] {percentage}% | {done}/{size} MiB | {rate} MiB/s | ETA {eta_formatted}`,
      hideCursor: true,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  let done = 0;
  const payload = () => ({
    done: (done / MIB).toFixed(1),
    size: (totalBytes / MIB).toFixed(1),
    rate: (done / MIB / Math.max(0.001, (Date.now() - started) / 1000)).toFixed(1),
  });
  bar.start(Math.max(1, totalBytes), 0, payload());
  let finished = false;
  return {
    advance(bytes) {
      done += bytes;
      bar.update(done, payload());
    },
    finish() {
      if (finished) return;
      finished = true;
      bar.update(done, payload());
      bar.stop();
    },
  };
}

/** One line that summarises a finished transfer, for every output mode. */
export function transferSummary(bytes: number, startedMs: number, nowMs: number): string {
  const seconds = Math.max(0.001, (nowMs - startedMs) / 1000);
  return `${bytes} bytes in ${seconds.toFixed(2)} s (${(bytes / MIB / seconds).toFixed(1)} MiB/s)`;
}
