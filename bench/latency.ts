/**
 * `npm run bench -- latency [--rate N] [--seconds S] [--batch B] [--runs R] [--cpu-prof DIR]`:
 * end-to-end latency alone (append in enterprise → returned by FetchFacts in
 * plant-a) on two fresh zones with no backlog, R runs each of AppendFacts of
 * B facts and of unary AppendFact at N facts/s. The full suite measures the
 * same after a drain; this one isolates it and shows its spread. Each
 * measured run follows an unmeasured warm-up of the same load.
 * The CPU table ends with the bare connect-node echo fed the same paced
 * appends (bench/paced-echo.ts): what the RPC framework alone costs per fact
 * at this rate, for one hop, and with what this machine charges for a
 * wake-up (bench/calibrate.ts).
 * With --cpu-prof both nodes run under `node --cpu-prof` and their top
 * self-time functions are printed at the end.
 */
import type { ChildProcess } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { clientFor } from "../test/fixtures/test-node.js";
import { startZones } from "../test/fixtures/zones.js";
import { describeWakeupCost, measureWakeupCost } from "./calibrate.js";
import { measureLatency, startProfiledNode, warmUpLatency } from "./gateway.js";
import { cpuPerItem, RssSampler, stopChild } from "./load.js";
import { measurePacedEcho } from "./paced-echo.js";
import { printZoneProfiles } from "./profile.js";

export async function runLatency(argv: readonly string[]): Promise<void> {
  const flag = (name: string, fallback: number) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? Number(argv[i + 1]) : fallback;
  };
  const o = { rate: flag("rate", 1000), latencySeconds: flag("seconds", 10) };
  const batch = flag("batch", 10);
  const runs = flag("runs", 3);
  const profIndex = argv.indexOf("--cpu-prof");
  const profDir = profIndex >= 0 ? argv[profIndex + 1] : undefined;
  const profiled: ChildProcess[] = [];
  // The machine and the framework alone under the same paced load first, with no zones running yet.
  const machine = await measureWakeupCost();
  const echo = await measurePacedEcho(o, [batch, 1]);
  const zones = await startZones(["enterprise", "plant-a"], () => ({
    receiver: { batch: 1000, wait: "1s", backoff_base: "100ms", backoff_max: "1s" },
    log_level: "warn",
  }));
  try {
    const ent = zones.zone("enterprise");
    const plant = zones.zone("plant-a");
    if (profDir !== undefined) {
      for (const zone of [ent, plant]) {
        await mkdir(join(profDir, zone.name), { recursive: true });
        profiled.push(await startProfiledNode(zone, join(profDir, zone.name)));
      }
    }
    const producers = Array.from({ length: 4 }, () => clientFor(ent.rpcUrl, zones.ca, ent.app));
    const pids = {
      "enterprise node": () => profiled[0]?.pid ?? ent.node.pid,
      "plant-a node": () => profiled[1]?.pid ?? plant.node.pid,
      "enterprise nats-server": () => ent.nats.pid,
      "plant-a nats-server": () => plant.nats.pid,
      "load generator": () => process.pid,
    };
    await delay(1000);
    const rows = [];
    const perProcess: Array<Record<string, string | number>> = [];
    for (let run = 1; run <= runs; run++) {
      for (const size of [batch, 1]) {
        await warmUpLatency(producers, plant, zones.ca, o, size, `l${run}-${size}`);
        const sampler = new RssSampler(pids);
        const r = await measureLatency(producers, plant, zones.ca, o, size, `l${run}-${size}`);
        const cpu = cpuPerItem(sampler.stop(), r.sent);
        rows.push({
          run,
          appends: size === 1 ? "unary AppendFact" : `AppendFacts of ${size}`,
          "facts/s": o.rate,
          "received/sent": `${r.received}/${r.sent}`,
          "p50 ms": r.p50Ms,
          "p99 ms": r.p99Ms,
          "max ms": r.maxMs,
          "CPU µs/fact, all processes": Object.values(cpu).reduce((a, b) => a + b, 0),
        });
        perProcess.push({ run, appends: size === 1 ? "unary" : `batches of ${size}`, ...cpu });
      }
    }
    console.log(`end-to-end latency, ${o.latencySeconds} s per run, two fresh zones on this machine:`);
    console.table(rows);
    for (const e of echo)
      perProcess.push({
        run: "anchor",
        appends: `connect-node echo, ${e.batch === 1 ? "unary" : `batches of ${e.batch}`}`,
        ...cpuPerItem(e.rss, e.sent),
      });
    console.log("CPU µs per fact by process (user+system, /proc/<pid>/stat):");
    console.table(perProcess);
    console.log(describeWakeupCost(machine));
  } finally {
    for (const child of profiled) await stopChild(child);
    await zones.stop();
  }
  if (profDir !== undefined) await printZoneProfiles(profDir, ["enterprise", "plant-a"], 25);
}
