import { describe, expect, it } from "vitest";
import type { GateState } from "../../../src/domain/gate.js";
import type { Logger } from "../../../src/ports/logger.js";
import { PeerGate } from "../../../src/use-cases/peer-gate.js";

function recordingLogger(
  lines: Array<{ level: string; msg: string; fields: Record<string, unknown> }>,
): Logger {
  const at =
    (level: string) =>
    (fields: Record<string, unknown>, msg = "") =>
      lines.push({ level, msg, fields });
  const logger = {
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    child: () => logger,
  };
  return logger as unknown as Logger;
}

describe("PeerGate", () => {
  it("logs why a peer that never answered is failing, once per distinct reason, and every transition", () => {
    const lines: Array<{ level: string; msg: string; fields: Record<string, unknown> }> = [];
    const states: GateState[] = [];
    const gate = new PeerGate("plant-a", recordingLogger(lines), {
      gate: (_p, s) => states.push(s),
      progress: () => {},
    });
    const identity = 'peer certificate names ["plant-b-bsfg"], expected "plant-a-bsfg"';
    gate.report("exchange_failed", { error: identity });
    gate.report("exchange_failed", { error: identity });
    gate.report("exchange_failed", { error: "connect ECONNREFUSED" });
    gate.report("exchange_caught_up");
    gate.report("exchange_failed", { error: identity });
    expect(lines.map((l) => [l.level, l.msg, l.fields.error ?? l.fields.to])).toEqual([
      ["warn", "peer exchange failing", identity],
      ["warn", "peer exchange failing", "connect ECONNREFUSED"],
      ["info", "gate transition", "open"],
      ["warn", "gate transition", identity],
    ]);
    expect(states).toEqual(["closed", "open", "closed"]);
  });
});
