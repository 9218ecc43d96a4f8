import { describe, expect, it } from "vitest";
import type { CliIo } from "../../../src/cli/cli-io.js";
import { createTransferProgress, transferSummary } from "../../../src/cli/transfer-progress.js";

function io(terminal: unknown): CliIo {
  return {
    stdout: { write: () => true },
    stderr: { write: () => true },
    env: {},
    terminationSignal: () => new Promise(() => {}),
    isTty: false,
    ...(terminal !== undefined && { terminal: terminal as NodeJS.WriteStream }),
  };
}

describe("transfer progress", () => {
  it("draws bytes, rate and ETA on a terminal", () => {
    let drawn = "";
    const tty = {
      isTTY: true,
      columns: 160,
      write: (s: string) => {
        drawn += s;
        return true;
      },
      on() {},
      removeListener() {},
    };
    const progress = createTransferProgress(io(tty), "put", 4 * 1024 * 1024);
    progress.advance(2 * 1024 * 1024);
    progress.advance(2 * 1024 * 1024);
    progress.finish();
    expect(drawn).toContain("put [");
    expect(drawn).toContain("100%");
    expect(drawn).toContain("4.0/4.0 MiB");
    expect(drawn).toMatch(/MiB\/s \| ETA/);
  });

  it("stays silent when there is no terminal", () => {
    let drawn = "";
    const pipe = {
      isTTY: false,
      write: (s: string) => {
        drawn += s;
        return true;
      },
    };
    const progress = createTransferProgress(io(pipe), "get", 100);
    progress.advance(100);
    progress.finish();
    expect(drawn).toBe("");
  });

  it("summarises a transfer", () => {
    expect(transferSummary(10 * 1024 * 1024, 0, 2000)).toBe("10485760 bytes in 2.00 s (5.0 MiB/s)");
  });
});
