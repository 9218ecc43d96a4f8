/**
 * `npm run bench -- scaling [--sizes 100,1024,16384,65536] [--backlogs 10000,50000,200000]
 * [--json FILE]`: how the gateway's cost grows with fact size and with backlog
 * size. One pair of zones (real `bsfg serve` children); for every fact size,
 * AppendFacts into enterprise while its link is cut, then the drain into
 * plant-a after heal; then, with 300-byte facts, one backlog of each size
 * built while cut and timed as it drains.
 */
import { mkdir, rename, writeFile } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import type { Client } from "@connectrpc/connect";
import type { BoundaryService } from "../src/gen/bsfg/v1/boundary_pb.js";
import { clientFor } from "../test/fixtures/test-node.js";
import { startZones } from "../test/fixtures/zones.js";
import { healAndTimeDrain, streamLastSeq } from "./gateway.js";
import { drive, RssSampler, round } from "./load.js";

type Boundary = Client<typeof BoundaryService>;
const MIB = 1024 * 1024;
const DEFAULT_JSON = fileURLToPath(new URL("./results/scaling.json", import.meta.url));
/** Bytes appended per fact size: enough to time, well inside the default 1 GiB store buffer. */
const BYTES_PER_SIZE = 64 * MIB;
/** Upper bound on one AppendFacts request (the node's max_request_bytes default is 8 MiB). */
const BATCH_BYTES = 2 * MIB;

function list(argv: readonly string[], name: string, fallback: number[]): number[] {
  const i = argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const values = (argv[i + 1] ?? "").split(",").map(Number);
  if (values.some((v) => !Number.isInteger(v) || v <= 0))
    throw new Error(`--${name}: comma-separated positive integers`);
  return values;
}

function objectOfSize(bytes: number, i: number): string {
  const head = `{"n":${i},"pad":"`;
  return `${head}${"x".repeat(Math.max(0, bytes - head.length - 2))}"}`;
}

async function appendSized(clients: readonly Boundary[], prefix: string, total: number, bytes: number) {
  const batch = Math.max(1, Math.min(250, Math.floor(BATCH_BYTES / bytes)));
  return drive({
    total: Math.ceil(total / batch),
    concurrency: 4,
    maxMs: 30 * 60_000,
    call: async (b, w) => {
      const size = Math.min(batch, total - b * batch);
      const items = Array.from({ length: size }, (_, j) => ({
        envelope: {
          messageId: `${prefix}-${b * batch + j}`,
          fromZone: "enterprise",
          toZone: "plant-a",
          producedAtUnixMs: BigInt(Date.now()),
        },
        fact: {
          subject: `order:${prefix}-${b * batch + j}`,
          predicate: "order_created",
          objectJson: objectOfSize(bytes, b * batch + j),
        },
      }));
      const res = await (clients[w % clients.length] as Boundary).appendFacts({ items });
      const failed = res.results.find((r) => r.outcome.case !== "ok");
      if (failed !== undefined) throw new Error(`refused: ${JSON.stringify(failed.outcome.value)}`);
      return size;
    },
  });
}

export async function runScaling(argv: readonly string[]): Promise<void> {
  const sizes = list(argv, "sizes", [100, 1024, 16 * 1024, 64 * 1024]);
  const backlogs = list(argv, "backlogs", [10_000, 50_000, 200_000]);
  const jsonFlag = argv.indexOf("--json");
  const json = jsonFlag >= 0 ? (argv[jsonFlag + 1] as string) : DEFAULT_JSON;
  const zones = await startZones(["enterprise", "plant-a"], () => ({
    receiver: { batch: 1000, wait: "1s", backoff_base: "100ms", backoff_max: "1s" },
    log_level: "warn",
  }));
  const bySize: unknown[] = [];
  const byBacklog: unknown[] = [];
  try {
    const ent = zones.zone("enterprise");
    const plant = zones.zone("plant-a");
    const pids = { enterprise: () => ent.node.pid, "plant-a": () => plant.node.pid };
    const clients = Array.from({ length: 4 }, () => clientFor(ent.rpcUrl, zones.ca, ent.app));
    for (const bytes of sizes) {
      const total = Math.max(200, Math.min(20_000, Math.floor(BYTES_PER_SIZE / bytes)));
      console.error(`[scaling] ${total} facts of ${bytes} B`);
      ent.proxy.cut();
      let rss = new RssSampler(pids);
      const append = await appendSized(clients, `s${bytes}`, total, bytes);
      const appendRss = rss.stop();
      const target = await streamLastSeq(ent.nats.url, "facts_operational");
      rss = new RssSampler(pids);
      const seconds = await healAndTimeDrain(ent, plant, target, 30 * 60_000);
      const drainRss = rss.stop();
      bySize.push({
        factBytes: bytes,
        facts: total,
        appendFactsPerSecond: append.itemsPerSecond,
        appendMiBPerSecond: round((append.itemsPerSecond * bytes) / MIB, 1),
        appendErrors: append.errors,
        drainFactsPerSecond: Math.round(total / seconds),
        drainMiBPerSecond: round((total * bytes) / MIB / seconds, 1),
        entPeakRssMiB: Math.max(appendRss.enterprise?.peakMiB ?? 0, drainRss.enterprise?.peakMiB ?? 0),
        plantPeakRssMiB: drainRss["plant-a"]?.peakMiB ?? 0,
      });
      console.table(bySize.slice(-1));
    }
    for (const backlog of backlogs) {
      console.error(`[scaling] backlog of ${backlog} × 300 B`);
      ent.proxy.cut();
      const before = await streamLastSeq(ent.nats.url, "facts_operational");
      const append = await appendSized(clients, `b${backlog}`, backlog, 300);
      const target = await streamLastSeq(ent.nats.url, "facts_operational");
      const rss = new RssSampler(pids);
      const seconds = await healAndTimeDrain(ent, plant, target, 30 * 60_000);
      const drainRss = rss.stop();
      byBacklog.push({
        backlog: target - before,
        buildFactsPerSecond: append.itemsPerSecond,
        drainSeconds: round(seconds, 2),
        drainFactsPerSecond: Math.round((target - before) / seconds),
        entPeakRssMiB: drainRss.enterprise?.peakMiB ?? 0,
        plantPeakRssMiB: drainRss["plant-a"]?.peakMiB ?? 0,
      });
      console.table(byBacklog.slice(-1));
    }
  } finally {
    await zones.stop();
  }
  console.log(
    `\nBSFG scaling (${cpus().length} CPUs, load avg at end ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}); drain time includes the receiver's reconnect after heal (backoff ≤ 1 s)`,
  );
  console.log("by fact size (AppendFacts while cut, then drain):");
  console.table(bySize);
  console.log("by backlog size (300-byte facts):");
  console.table(byBacklog);
  await mkdir(dirname(json), { recursive: true });
  await writeFile(
    `${json}.tmp`,
    `${JSON.stringify({ startedAt: new Date().toISOString(), cpus: cpus().length, bySize, byBacklog }, null, 2)}\n`,
  );
  await rename(`${json}.tmp`, json);
  console.log(`\nwritten: ${json}`);
}
