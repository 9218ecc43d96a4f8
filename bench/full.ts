/**
 * `npm run bench [-- full] [--facts N] [--backlog N] [--json FILE] …`: the
 * whole comparison of ARCHITECTURE §9 in one run — substrate and framework
 * anchors, then the gateway, each gateway figure as a ratio to its anchor.
 */
import { mkdir, rename, writeFile } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { clientFor } from "../test/fixtures/test-node.js";
import { createTestPki } from "../test/fixtures/test-pki.js";
import { describeWakeupCost, measureWakeupCost } from "./calibrate.js";
import { appendBatches, type GatewayOptions, measureGateway, measureUnary, type Rss } from "./gateway.js";
import { cpuPerItem, FACT_BYTES, RssSampler, round, stopChild } from "./load.js";
import { measureSubstrate } from "./mirror.js";
import { measurePacedEcho, type PacedEcho } from "./paced-echo.js";
import { startEcho } from "./start-echo.js";

const DEFAULT_JSON = fileURLToPath(new URL("./results/latest.json", import.meta.url));

export interface FullOptions extends GatewayOptions {
  readonly inFlight: number;
  readonly json: string;
}

export function parseFullArgs(argv: readonly string[]): FullOptions {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (!a.startsWith("--")) throw new Error(`unexpected argument ${a}`);
    const value = argv[i + 1];
    if (value === undefined) throw new Error(`${a} needs a value`);
    flags.set(a.slice(2), value);
    i++;
  }
  const num = (name: string, fallback: number): number => {
    const v = flags.get(name);
    flags.delete(name);
    const n = v === undefined ? fallback : Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number`);
    return n;
  };
  const o: FullOptions = {
    facts: num("facts", 20_000),
    backlog: num("backlog", 50_000),
    batch: num("batch", 250),
    batchConcurrency: num("batch-concurrency", 4),
    concurrency: num("concurrency", 256),
    connections: num("connections", 4),
    inFlight: num("in-flight", 512),
    rate: num("rate", 1000),
    latencySeconds: num("latency-seconds", 10),
    latencyBatch: num("latency-batch", 10),
    maxPhaseMs: num("max-phase-seconds", 300) * 1000,
    logLevel: (flags.get("log-level") ?? "warn") as FullOptions["logLevel"],
    json: flags.get("json") ?? DEFAULT_JSON,
  };
  flags.delete("log-level");
  flags.delete("json");
  if (flags.size > 0)
    throw new Error(`unknown flag(s): ${[...flags.keys()].map((k) => `--${k}`).join(", ")}`);
  return o;
}

async function measureEcho(o: FullOptions) {
  const pki = await createTestPki();
  const echo = await startEcho(pki.ca, pki.node.cert, pki.node.key);
  try {
    const clients = Array.from({ length: o.connections }, () => clientFor(echo.url, pki.ca, pki.clients.erp));
    const pids = { "echo server": () => echo.child.pid, "load generator": () => process.pid };
    let rss = new RssSampler(pids);
    const result = await measureUnary(clients, "e", o);
    const unaryRss = rss.stop();
    // The framework's ceiling for batches: the same AppendFacts load, answered from memory.
    await appendBatches(clients, "ebw", o.batch * 2, o.batch, o.batchConcurrency, 30_000);
    rss = new RssSampler(pids);
    const batched = await appendBatches(clients, "eb", o.facts, o.batch, o.batchConcurrency, o.maxPhaseMs);
    return { ...result, rss: unaryRss, batched: { ...batched, rss: rss.stop() } };
  } finally {
    await stopChild(echo.child);
  }
}

const peak = (rss: Rss | undefined, name: string): number | string => rss?.[name]?.peakMiB ?? "";
const ratio = (x: number, anchor: number): number => round(x / anchor, 2);

export async function runFull(o: FullOptions): Promise<void> {
  const started = new Date();
  const log = (m: string) =>
    console.error(`[bench ${((Date.now() - started.getTime()) / 1000).toFixed(0)}s] ${m}`);
  log("machine: wake-up and cross-process round-trip cost (bench/calibrate.ts)");
  const wakeups = await measureWakeupCost();
  log(
    `substrate: raw publish of ${o.backlog} × ${FACT_BYTES} B (${o.inFlight} in flight), then leafnode mirror`,
  );
  const substrate = await measureSubstrate({
    backlog: o.backlog,
    inFlight: o.inFlight,
    maxMs: o.maxPhaseMs,
    facts: o.facts,
    batch: o.batch,
    batchConcurrency: o.batchConcurrency,
    connections: o.connections,
  });
  log(`echo: ${o.facts} unary calls, ${o.concurrency} concurrent over ${o.connections} connections`);
  const echo = await measureEcho(o);
  log(`echo paced like the latency phase: ${o.rate} facts/s, AppendFacts of ${o.latencyBatch} and unary`);
  const pacedEcho = await measurePacedEcho(o, [o.latencyBatch, 1]);
  log(
    `gateway: AppendFact ×${o.facts}, AppendFacts ×${o.facts} in batches of ${o.batch}, drain of ${o.backlog}, latency ${o.rate}/s × ${o.latencySeconds}s`,
  );
  const gw = await measureGateway(o);

  const raw = substrate.rawPublish.itemsPerSecond;
  const mirror = substrate.mirror.messagesPerSecond;
  const E = "enterprise node";
  const P = "plant-a node";
  const rows = [
    {
      phase: `raw nats.js JetStream publish, ${o.inFlight} in flight`,
      size: substrate.rawPublish.calls,
      rate: raw,
      unit: "msg/s",
      ratio: "anchor",
      target: "",
      "ent RSS MiB": "",
      "plant RSS MiB": "",
    },
    {
      phase: `bare connect-node echo, unary, ${o.concurrency} conc / ${o.connections} conn`,
      size: echo.calls,
      rate: echo.callsPerSecond,
      unit: "req/s",
      ratio: "anchor",
      target: "",
      "ent RSS MiB": `echo ${peak(echo.rss, "echo server")}`,
      "plant RSS MiB": "",
    },
    {
      phase: "gateway AppendFact unary (vs echo)",
      size: gw.appendFact.calls,
      rate: gw.appendFact.callsPerSecond,
      unit: "req/s",
      ratio: ratio(gw.appendFact.callsPerSecond, echo.callsPerSecond),
      target: "≥ 0.8",
      "ent RSS MiB": peak(gw.appendFact.rss, E),
      "plant RSS MiB": peak(gw.appendFact.rss, P),
    },
    {
      phase: `gateway AppendFacts, batches of ${o.batch}, ${o.batchConcurrency} in flight (vs raw publish)`,
      size: gw.appendFacts.items,
      rate: gw.appendFacts.itemsPerSecond,
      unit: "facts/s",
      ratio: ratio(gw.appendFacts.itemsPerSecond, raw),
      target: "≥ 1.0",
      "ent RSS MiB": peak(gw.appendFacts.rss, E),
      "plant RSS MiB": peak(gw.appendFacts.rss, P),
    },
    {
      phase: "  ceiling: connect-node echo of the same AppendFacts, from memory (vs raw publish)",
      size: echo.batched.items,
      rate: echo.batched.itemsPerSecond,
      unit: "facts/s",
      ratio: ratio(echo.batched.itemsPerSecond, raw),
      target: "",
      "ent RSS MiB": `echo ${peak(echo.batched.rss, "echo server")}`,
      "plant RSS MiB": "",
    },
    {
      phase: `  ceiling: nats.js index claim + fact per fact, no RPC, ${o.inFlight} in flight (vs raw publish)`,
      size: substrate.ceilings.pairs.items,
      rate: substrate.ceilings.pairs.itemsPerSecond,
      unit: "facts/s",
      ratio: ratio(substrate.ceilings.pairs.itemsPerSecond, raw),
      target: "",
      "ent RSS MiB": "",
      "plant RSS MiB": "",
    },
    {
      phase:
        "  floor: bare service, same load: decode + claim + fact per item, nothing else (vs raw publish)",
      size: substrate.floors.bareAppend.items,
      rate: substrate.floors.bareAppend.itemsPerSecond,
      unit: "facts/s",
      ratio: ratio(substrate.floors.bareAppend.itemsPerSecond, raw),
      target: "",
      "ent RSS MiB": `bare ${peak(substrate.floors.bareAppend.rss, "bare service")}`,
      "plant RSS MiB": "",
    },
    {
      phase: "NATS leafnode mirror drain of the backlog",
      size: substrate.rawPublish.calls,
      rate: mirror,
      unit: "msg/s",
      ratio: "anchor",
      target: "",
      "ent RSS MiB": `nats ${peak(substrate.mirror.rss, "nats-server (mirror side)")}`,
      "plant RSS MiB": "",
    },
    {
      phase: "gateway cross-zone drain after heal (vs mirror)",
      size: gw.drain?.facts ?? 0,
      rate: gw.drain?.factsPerSecond ?? 0,
      unit: "facts/s",
      ratio: ratio(gw.drain?.factsPerSecond ?? 0, mirror),
      target: "≥ 1.0",
      "ent RSS MiB": peak(gw.drain?.rss, E),
      "plant RSS MiB": peak(gw.drain?.rss, P),
    },
    {
      phase: "  ceiling: nats.js relay of the backlog between two servers, no RPC (vs mirror)",
      size: substrate.ceilings.relay.messages,
      rate: substrate.ceilings.relay.messagesPerSecond,
      unit: "msg/s",
      ratio: ratio(substrate.ceilings.relay.messagesPerSecond, mirror),
      target: "",
      "ent RSS MiB": "",
      "plant RSS MiB": "",
    },
    {
      phase: "  floor: the relay through FetchFacts between two processes, mTLS HTTP/2, no JSON (vs mirror)",
      size: substrate.floors.rpcRelay.messages,
      rate: substrate.floors.rpcRelay.messagesPerSecond,
      unit: "msg/s",
      ratio: ratio(substrate.floors.rpcRelay.messagesPerSecond, mirror),
      target: "",
      "ent RSS MiB": `bare ${peak(substrate.floors.rpcRelay.rss, "bare service")}`,
      "plant RSS MiB": "",
    },
    {
      phase: `end-to-end latency, AppendFacts of ${o.latencyBatch} at ${o.rate} facts/s: p50 / p99 / max`,
      size: `${gw.latencyBatched?.received ?? 0}/${gw.latencyBatched?.sent ?? 0}`,
      rate: `${gw.latencyBatched?.p50Ms} / ${gw.latencyBatched?.p99Ms} / ${gw.latencyBatched?.maxMs}`,
      unit: "ms",
      ratio: "",
      target: "p99 ≤ 50",
      "ent RSS MiB": peak(gw.latencyBatched?.rss, E),
      "plant RSS MiB": peak(gw.latencyBatched?.rss, P),
    },
    {
      phase: `end-to-end latency, unary AppendFact at ${o.rate}/s for ${o.latencySeconds}s: p50 / p99 / max`,
      // received/sent: fewer received means the consumer gave up (hard stop: latency-seconds + 30 s).
      size: `${gw.latency?.received ?? 0}/${gw.latency?.sent ?? 0}`,
      rate: `${gw.latency?.p50Ms} / ${gw.latency?.p99Ms} / ${gw.latency?.maxMs}`,
      unit: "ms",
      ratio: "",
      target: "p99 ≤ 50",
      "ent RSS MiB": peak(gw.latency?.rss, E),
      "plant RSS MiB": peak(gw.latency?.rss, P),
    },
  ];
  console.log(
    `\nBSFG bench (${FACT_BYTES}-byte facts, ${cpus().length} CPUs, load avg at end ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}); idle RSS enterprise ${peak(gw.idleRss, E)} MiB, plant-a ${peak(gw.idleRss, P)} MiB`,
  );
  console.table(rows);
  console.log(describeWakeupCost(wakeups));
  const atHeal = gw.drain?.rssAtHeal;
  if (atHeal !== undefined)
    console.log(
      `RSS when the link healed, after the nodes settled from the top-up: enterprise ${atHeal[E]} MiB, plant-a ${atHeal[P]} MiB`,
    );
  const cpu = cpuTable(substrate, echo, gw, pacedEcho, o);
  console.log(
    "\nCPU per fact (µs of user+system CPU per fact, call or message, by process; from /proc/<pid>/stat):",
  );
  console.table(cpu);
  const errors = [
    ["echo", echo],
    ["AppendFact", gw.appendFact],
    ["AppendFacts", gw.appendFacts],
    ["raw publish", substrate.rawPublish],
  ].filter(([, r]) => (r as { errors: number }).errors > 0);
  for (const [name, r] of errors) {
    const { errors: n, firstError } = r as { errors: number; firstError?: string };
    console.log(`${name}: ${n} failed calls, first: ${firstError}`);
  }
  const report = {
    startedAt: started.toISOString(),
    machine: {
      cpus: cpus().length,
      model: cpus()[0]?.model,
      loadavgAtEnd: loadavg(),
      node: process.version,
      wakeups,
    },
    options: { ...o, factBytes: FACT_BYTES },
    anchors: { rawPublish: substrate.rawPublish, echo, pacedEcho, mirror: substrate.mirror },
    ceilings: substrate.ceilings,
    floors: substrate.floors,
    gateway: gw,
    ratios: {
      appendFactVsEcho: ratio(gw.appendFact.callsPerSecond, echo.callsPerSecond),
      appendFactsVsRawPublish: ratio(gw.appendFacts.itemsPerSecond, raw),
      drainVsMirror: ratio(gw.drain?.factsPerSecond ?? 0, mirror),
      // How close our own code comes to the same dependencies used the minimal way (bench/floors.ts).
      appendFactsVsBareService: ratio(
        gw.appendFacts.itemsPerSecond,
        substrate.floors.bareAppend.itemsPerSecond,
      ),
      drainVsRpcRelay: ratio(gw.drain?.factsPerSecond ?? 0, substrate.floors.rpcRelay.messagesPerSecond),
    },
    table: rows,
    cpuPerFactMicros: cpu,
  };
  await mkdir(dirname(o.json), { recursive: true });
  await writeFile(`${o.json}.tmp`, `${JSON.stringify(report, null, 2)}\n`);
  await rename(`${o.json}.tmp`, o.json);
  console.log(`\nwritten: ${o.json}`);
}

type Echo = Awaited<ReturnType<typeof measureEcho>>;
type Substrate = Awaited<ReturnType<typeof measureSubstrate>>;
type Gateway = Awaited<ReturnType<typeof measureGateway>>;

/** One row per phase: CPU µs per item of every process sampled in it, and their sum. */
function cpuTable(
  substrate: Substrate,
  echo: Echo,
  gw: Gateway,
  pacedEcho: readonly PacedEcho[],
  o: FullOptions,
): Array<Record<string, string | number>> {
  const row = (phase: string, rss: Rss | undefined, items: number) => {
    const per = cpuPerItem(rss, items);
    const total = Object.values(per).reduce((a, b) => a + b, 0);
    return { phase, ...per, "all processes": total };
  };
  const c = substrate.ceilings;
  const f = substrate.floors;
  return [
    row("raw nats.js publish", substrate.rawPublish.rss, substrate.rawPublish.items),
    row("echo unary", echo.rss, echo.calls),
    row("gateway AppendFact", gw.appendFact.rss, gw.appendFact.calls),
    row("echo AppendFacts", echo.batched.rss, echo.batched.items),
    row("nats.js claim + fact", c.pairs.rss, c.pairs.items),
    row("bare service AppendFacts (floor)", f.bareAppend.rss, f.bareAppend.items),
    row("gateway AppendFacts", gw.appendFacts.rss, gw.appendFacts.items),
    row("NATS mirror", substrate.mirror.rss, substrate.mirror.messages),
    row("nats.js relay", c.relay.rss, c.relay.messages),
    row("relay through FetchFacts (floor)", f.rpcRelay.rss, f.rpcRelay.messages),
    row("gateway drain", gw.drain?.rss, gw.drain?.facts ?? 0),
    ...pacedEcho.flatMap((e) => {
      const load = e.batch === 1 ? `unary at ${o.rate}/s` : `AppendFacts of ${e.batch} at ${o.rate} facts/s`;
      const gateway = e.batch === 1 ? gw.latency : gw.latencyBatched;
      return [
        row(`echo paced, ${load}`, e.rss, e.sent),
        row(`gateway end to end, ${load}`, gateway?.rss, gateway?.sent ?? 0),
      ];
    }),
  ];
}
