/**
 * `npm run bench -- calibrate`: what this machine charges a process for
 * sleeping and waking, the cost every hop of the gateway's chain pays at a
 * steady low rate. Two measurements, neither involving BSFG:
 *  - a Node process waking from a 2 ms timer, many times: CPU per wake-up;
 *  - two Node processes passing one byte back and forth over pipes: wall
 *    time and CPU (each side) per round trip.
 * Under nested virtualisation (this project's CI VM) both CPU figures are
 * tens to hundreds of µs, and every process of the gateway's chain pays them
 * per hop at a steady low rate, so compare them before comparing latency
 * runs from two machines. The full and latency suites print them.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { setTimeout as delay } from "node:timers/promises";
import { cpuSeconds, round, stopChild } from "./load.js";

const TIMER_WAKEUPS = 2_000;
const ROUND_TRIPS = 10_000;

export interface WakeupCost {
  /** CPU µs a Node process spends per wake-up from a 2 ms timer. */
  readonly timerWakeupCpuMicros: number;
  /** Wall µs of one byte there and back between two Node processes over pipes. */
  readonly roundTripWallMicros: number;
  /** CPU µs per round trip of the process that sends, and of the one that echoes. */
  readonly roundTripCpuMicros: { readonly sender: number; readonly echo: number };
}

export async function measureWakeupCost(): Promise<WakeupCost> {
  const before = process.cpuUsage();
  for (let i = 0; i < TIMER_WAKEUPS; i++) await delay(2);
  const timer = process.cpuUsage(before);

  const child = spawn(process.execPath, ["-e", "process.stdin.on('data', (d) => process.stdout.write(d))"], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  try {
    const stdin = child.stdin;
    const stdout = child.stdout;
    const one = Buffer.from("x");
    // Warm both sides up before counting.
    for (let i = 0; i < 200; i++) {
      stdin.write(one);
      await once(stdout, "data");
    }
    const childStart = cpuSeconds(child.pid) ?? 0;
    const start = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < ROUND_TRIPS; i++) {
      stdin.write(one);
      await once(stdout, "data");
    }
    const wall = performance.now() - t0;
    const sender = process.cpuUsage(start);
    const echo = (cpuSeconds(child.pid) ?? childStart) - childStart;
    return {
      timerWakeupCpuMicros: round((timer.user + timer.system) / TIMER_WAKEUPS, 1),
      roundTripWallMicros: round((wall * 1000) / ROUND_TRIPS, 1),
      roundTripCpuMicros: {
        sender: round((sender.user + sender.system) / ROUND_TRIPS, 1),
        echo: round((echo * 1e6) / ROUND_TRIPS, 1),
      },
    };
  } finally {
    child.stdin.end();
    await stopChild(child);
  }
}

export function describeWakeupCost(c: WakeupCost): string {
  return (
    `this machine: a Node process pays ${c.timerWakeupCpuMicros} µs of CPU per wake-up from a 2 ms timer; ` +
    `a one-byte round trip between two processes takes ${c.roundTripWallMicros} µs ` +
    `and ${c.roundTripCpuMicros.sender} + ${c.roundTripCpuMicros.echo} µs of CPU (every hop of the chain pays these at a steady low rate)`
  );
}
