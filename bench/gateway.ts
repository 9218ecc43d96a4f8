/**
 * Gateway phases on two real zones (test/fixtures/zones.ts: a nats-server and
 * a `bsfg serve` child process per zone, peers dialled through cuttable TCP
 * proxies): unary AppendFact and batched AppendFacts into zone enterprise
 * while its link is cut (so plant-a's receiver is idle and the appends become
 * the backlog), a top-up to the requested backlog, the timed drain after
 * heal, and end-to-end latency at a steady rate.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { setTimeout as delay } from "node:timers/promises";
import type { Client } from "@connectrpc/connect";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import type { BoundaryService } from "../src/gen/bsfg/v1/boundary_pb.js";
import { CONFIRM_SPACING_MS } from "../src/use-cases/receiver-loop.js";
import { BSFG_BIN } from "../test/fixtures/spawn-bsfg.js";
import { clientFor } from "../test/fixtures/test-node.js";
import { startZones, type Zone, type Zones } from "../test/fixtures/zones.js";
import {
  drive,
  type LoadResult,
  objectJson,
  type ProcessSample,
  percentile,
  RssSampler,
  round,
  rssMiB,
  stopChild,
} from "./load.js";

type Boundary = Client<typeof BoundaryService>;
export type Rss = Record<string, ProcessSample>;

export interface GatewayOptions {
  readonly facts: number;
  readonly batch: number;
  readonly batchConcurrency: number;
  readonly concurrency: number;
  readonly connections: number;
  readonly backlog: number;
  readonly rate: number;
  readonly latencySeconds: number;
  /** Facts per AppendFacts call in the second latency run (the first is unary). */
  readonly latencyBatch: number;
  readonly maxPhaseMs: number;
  readonly logLevel: "debug" | "info" | "warn" | "error";
  /** Run the enterprise node with `node --cpu-prof --cpu-prof-dir=<dir>` (append phases only). */
  readonly cpuProfDir?: string;
  readonly appendsOnly?: boolean;
}

export interface GatewayResult {
  readonly appendFact: LoadResult & { rss: Rss };
  readonly appendFacts: LoadResult & { batch: number; rss: Rss };
  readonly topUp?: LoadResult | undefined;
  readonly drain?: {
    /** RSS of each process when the link healed, after the nodes settled (MiB). */
    rssAtHeal: Record<string, number>;
    facts: number;
    seconds: number;
    factsPerSecond: number;
    rss: Rss;
  };
  readonly latencyBatched?: GatewayResult["latency"];
  readonly latency?: {
    rate: number;
    batch: number;
    seconds: number;
    sent: number;
    received: number;
    errors: number;
    skipped: number;
    firstError?: string;
    p50Ms: number;
    p99Ms: number;
    maxMs: number;
    rss: Rss;
  };
  readonly idleRss: Rss;
}

export const request = (prefix: string, i: number) => ({
  envelope: {
    messageId: `${prefix}-${i}`,
    fromZone: "enterprise",
    toZone: "plant-a",
    producedAtUnixMs: BigInt(Date.now()),
  },
  fact: { subject: `order:${prefix}-${i}`, predicate: "order_created", objectJson: objectJson(i) },
});

export async function measureUnary(clients: readonly Boundary[], prefix: string, o: GatewayOptions) {
  await drive({
    total: 500,
    concurrency: o.concurrency,
    maxMs: 30_000,
    call: async (i, w) => {
      await (clients[w % clients.length] as Boundary).appendFact(request(`${prefix}w`, i));
      return 1;
    },
  });
  return drive({
    total: o.facts,
    concurrency: o.concurrency,
    maxMs: o.maxPhaseMs,
    call: async (i, w) => {
      await (clients[w % clients.length] as Boundary).appendFact(request(prefix, i));
      return 1;
    },
  });
}

export async function appendBatches(
  clients: readonly Boundary[],
  prefix: string,
  total: number,
  batch: number,
  concurrency: number,
  maxMs: number,
): Promise<LoadResult> {
  return drive({
    total: Math.ceil(total / batch),
    concurrency,
    maxMs,
    call: async (b, w) => {
      const size = Math.min(batch, total - b * batch);
      const items = Array.from({ length: size }, (_, j) => request(prefix, b * batch + j));
      const res = await (clients[w % clients.length] as Boundary).appendFacts({ items });
      const failed = res.results.find((r) => r.outcome.case !== "ok");
      if (failed !== undefined)
        throw new Error(`batch item refused: ${JSON.stringify(failed.outcome.value)}`);
      return size;
    },
  });
}

/** The enterprise node restarted by us as `node --cpu-prof bin/bsfg.js serve` so V8 writes a profile on exit. */
export async function startProfiledNode(zone: Zone, dir: string): Promise<ChildProcess> {
  await zone.node.stop();
  const child = spawn(
    process.execPath,
    ["--cpu-prof", `--cpu-prof-dir=${dir}`, BSFG_BIN, "serve", "--config", zone.configPath],
    { stdio: ["ignore", "ignore", "inherit"] },
  );
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error("profiled node exited before ready");
    const ready = await fetch(`${zone.adminUrl}/readyz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ready) return child;
    if (Date.now() > deadline) throw new Error("profiled node not ready in time");
    await delay(100);
  }
}

/**
 * Waits (60 s at most) until no process's RSS has fallen by more than 1 MiB
 * for QUIET_MS, and returns each one's RSS then. An idle node does not
 * collect right away: V8's memory reducer runs its first collection some 8 s
 * after the allocation rate drops, so a shorter wait would count the
 * garbage of the appends that built the backlog as the drain's memory.
 */
export async function settleRss(
  pids: Record<string, () => number | undefined>,
): Promise<Record<string, number>> {
  const read = () =>
    Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, rssMiB(pid()) ?? 0]));
  let last = read();
  let quietSince = Date.now();
  const until = Date.now() + 60_000;
  while (Date.now() < until && Date.now() - quietSince < QUIET_MS) {
    await delay(1000);
    const now = read();
    if (Object.keys(now).some((name) => (last[name] ?? 0) - (now[name] ?? 0) > 1)) quietSince = Date.now();
    last = now;
  }
  return last;
}

const QUIET_MS = 15_000;

/**
 * Heals enterprise's link and returns the seconds until plant-a's import
 * high-water mark for enterprise/operational reaches `target`.
 */
export async function healAndTimeDrain(
  ent: Zone,
  plant: Zone,
  target: number,
  maxMs: number,
): Promise<number> {
  const started = performance.now();
  ent.proxy.heal();
  const until = Date.now() + maxMs;
  for (;;) {
    const status = await plant.status();
    const imp = status.imports.find((i) => i.peer === "enterprise" && i.category === "operational");
    if ((imp?.high_water_mark ?? 0) >= target) return (performance.now() - started) / 1000;
    if (Date.now() > until) throw new Error(`drain stuck at ${imp?.high_water_mark} of ${target}`);
    await delay(50);
  }
}

export async function streamLastSeq(natsUrl: string, stream: string): Promise<number> {
  const nc = await connect({ servers: natsUrl });
  try {
    return (await (await jetstreamManager(nc)).streams.info(stream)).state.last_seq;
  } finally {
    await nc.close();
  }
}

export async function measureGateway(o: GatewayOptions): Promise<GatewayResult> {
  const zones: Zones = await startZones(["enterprise", "plant-a"], () => ({
    // The largest receiver batch the schema allows; long-poll 1 s; quick retry after heal.
    receiver: { batch: 1000, wait: "1s", backoff_base: "100ms", backoff_max: "1s" },
    log_level: o.logLevel,
    // Room for a 1M-fact backlog (~0.9 GB stored) below the 80 % back-pressure line.
    categories: {
      operational: { max_age: "7d", max_bytes: "4GiB" },
      audit: { max_age: "30d", max_bytes: "1GiB" },
      documents: { max_age: "7d", max_bytes: "1GiB" },
      telemetry: { max_age: "3d", max_bytes: "1GiB", dedup: "window" },
    },
  }));
  let profiled: ChildProcess | undefined;
  try {
    const ent = zones.zone("enterprise");
    const plant = zones.zone("plant-a");
    // plant-a's receiver reaches enterprise through enterprise's proxy: cut it, appends pile up.
    ent.proxy.cut();
    if (o.cpuProfDir !== undefined) profiled = await startProfiledNode(ent, o.cpuProfDir);
    const entPid = () => profiled?.pid ?? ent.node.pid;
    const pids = {
      "enterprise node": entPid,
      "plant-a node": () => plant.node.pid,
      "enterprise nats-server": () => ent.nats.pid,
      "plant-a nats-server": () => plant.nats.pid,
      "load generator": () => process.pid,
    };
    const clients = Array.from({ length: o.connections }, () => clientFor(ent.rpcUrl, zones.ca, ent.app));
    await delay(1000);
    const idle = new RssSampler(pids);
    const idleRss = idle.stop();

    let rss = new RssSampler(pids);
    const unary = await measureUnary(clients, "u", o);
    const appendFact = { ...unary, rss: rss.stop() };

    rss = new RssSampler(pids);
    await appendBatches(clients, "bw", o.batch * 2, o.batch, o.batchConcurrency, 30_000);
    const batched = await appendBatches(clients, "b", o.facts, o.batch, o.batchConcurrency, o.maxPhaseMs);
    const appendFacts = { ...batched, batch: o.batch, rss: rss.stop() };
    if (o.appendsOnly === true) return { appendFact, appendFacts, idleRss };

    const have = await streamLastSeq(ent.nats.url, "facts_operational");
    const topUp =
      o.backlog > have
        ? await appendBatches(clients, "t", o.backlog - have, 500, o.batchConcurrency, 30 * 60_000)
        : undefined;
    const target = await streamLastSeq(ent.nats.url, "facts_operational");

    // A real backlog builds up over an outage, not in the second before the link heals: let the
    // nodes settle after the top-up (V8 gives back the heap the burst grew) so the drain's RSS
    // is the drain's, not the burst's. The settled values are reported with it.
    const settled = await settleRss(pids);
    rss = new RssSampler(pids);
    const drainSeconds = await healAndTimeDrain(ent, plant, target, Math.max(o.maxPhaseMs, 30 * 60_000));
    const drain = {
      rssAtHeal: settled,
      facts: target,
      seconds: round(drainSeconds, 3),
      factsPerSecond: Math.round(target / drainSeconds),
      rss: rss.stop(),
    };

    // The latency target is about a steady 1k facts/s, not the drain's aftermath: let the
    // nodes settle from it first, as from the top-up.
    await settleRss(pids);
    // Batched first: the unary run may outrun the node and leave a queue behind it.
    await warmUpLatency(clients, plant, zones.ca, o, o.latencyBatch, "latb");
    rss = new RssSampler(pids);
    const paced = await measureLatency(clients, plant, zones.ca, o, o.latencyBatch, "latb");
    const latencyBatched = { ...paced, rss: rss.stop() };
    await warmUpLatency(clients, plant, zones.ca, o, 1, "lat");
    rss = new RssSampler(pids);
    const latency = { ...(await measureLatency(clients, plant, zones.ca, o, 1, "lat")), rss: rss.stop() };
    return { appendFact, appendFacts, topUp, drain, latency, latencyBatched, idleRss };
  } finally {
    if (profiled !== undefined) await stopChild(profiled);
    await zones.stop();
  }
}

/** Seconds of the same paced load run, and discarded, before each latency measurement. */
export const LATENCY_WARMUP_SECONDS = 3;

/**
 * LATENCY_WARMUP_SECONDS of the load `measureLatency` will measure, with
 * its results discarded: the first seconds of a path compile it (V8's JIT)
 * and size the young generation, which is not the steady state the p99
 * target is about. Run it before starting the RSS and CPU samplers.
 */
export async function warmUpLatency(
  producers: readonly Boundary[],
  plant: Zone,
  ca: string,
  o: Pick<GatewayOptions, "rate">,
  batch: number,
  prefix: string,
): Promise<void> {
  const warm = { rate: o.rate, latencySeconds: LATENCY_WARMUP_SECONDS };
  await measureLatency(producers, plant, ca, warm, batch, `${prefix}w`);
}

/**
 * Paced appends in enterprise (`batch` 1: unary AppendFact; more: one
 * AppendFacts of `batch` facts each time that many are due); a long-polling
 * FetchFacts loop on plant-a's local consumer timestamps each arrival.
 */
export async function measureLatency(
  producers: readonly Boundary[],
  plant: Zone,
  ca: string,
  o: Pick<GatewayOptions, "rate" | "latencySeconds">,
  batch: number,
  prefix: string,
) {
  const consumerName = "operational-reader";
  const reader = clientFor(plant.rpcUrl, ca, plant.app);
  // Skip the drained backlog: move the local cursor to the forward buffer's head.
  const head = await streamLastSeq(plant.nats.url, "forward_operational");
  if (head > 0) await reader.confirmReceipt({ consumerName, offset: BigInt(head) });
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  let done: Paced | undefined;
  const consume = (async () => {
    const deadline = () => done !== undefined && latencies.length >= done.sent;
    const hardStop = Date.now() + (o.latencySeconds + 30) * 1000;
    // Written as a low-latency consumer is (and as the receiver loop is): it reads on after the
    // last fact it got (after_offset) while the confirm travels, one confirm in flight at a time,
    // started at most every CONFIRM_SPACING_MS, each for the newest fact.
    let after: bigint | undefined;
    let confirming: Promise<unknown> | undefined;
    let confirmedAt = -Infinity;
    let unconfirmed: bigint | undefined;
    // Kept until the end rather than left to reject unawaited between two fetches.
    let confirmFailure: unknown;
    const confirm = (offset: bigint) => {
      unconfirmed = undefined;
      confirmedAt = performance.now();
      confirming = reader
        .confirmReceipt({ consumerName, offset })
        .catch((error: unknown) => {
          confirmFailure ??= error;
        })
        .finally(() => {
          confirming = undefined;
        });
    };
    while (!deadline() && Date.now() < hardStop) {
      const res = await reader.fetchFacts({
        consumerName,
        limit: 1000,
        waitMs: 500,
        ...(after === undefined ? {} : { afterOffset: after }),
      });
      const now = performance.now();
      for (const f of res.facts) {
        const t = sentAt.get(f.envelope?.messageId ?? "");
        if (t !== undefined) latencies.push(now - t);
      }
      const last = res.facts.at(-1);
      if (last !== undefined) {
        after = last.offset;
        unconfirmed = last.offset;
      }
      if (unconfirmed !== undefined && confirming === undefined && now - confirmedAt >= CONFIRM_SPACING_MS)
        confirm(unconfirmed);
    }
    await confirming;
    if (unconfirmed !== undefined) {
      confirm(unconfirmed);
      await confirming;
    }
    if (confirmFailure !== undefined) throw confirmFailure;
  })();
  const paced = await pacedAppends(producers, o, batch, prefix, (ids) => {
    const now = performance.now();
    for (const id of ids) sentAt.set(id, now);
  });
  done = paced;
  await consume;
  latencies.sort((a, b) => a - b);
  return {
    rate: o.rate,
    batch,
    ...paced,
    received: latencies.length,
    p50Ms: round(percentile(latencies, 50), 1),
    p99Ms: round(percentile(latencies, 99), 1),
    maxMs: round(latencies.at(-1) ?? Number.NaN, 1),
  };
}

export interface Paced {
  readonly seconds: number;
  /** Facts acknowledged: neither failed nor skipped. */
  readonly sent: number;
  readonly errors: number;
  /** Facts never sent because the calls in flight were at the HTTP/2 stream limit. */
  readonly skipped: number;
  readonly firstError?: string;
}

/**
 * `o.rate` facts per second for `o.latencySeconds`, one AppendFacts of
 * `batch` facts each time that many are due (unary AppendFact when `batch`
 * is 1), round-robin over `producers`; `onSend` sees each call's message ids
 * as it leaves. Resolves once every call has settled.
 */
export async function pacedAppends(
  producers: readonly Boundary[],
  o: Pick<GatewayOptions, "rate" | "latencySeconds">,
  batch: number,
  prefix: string,
  onSend: (messageIds: readonly string[]) => void = () => undefined,
): Promise<Paced> {
  const total = Math.round(o.rate * o.latencySeconds);
  const pending: Promise<unknown>[] = [];
  let errors = 0;
  let firstError: string | undefined;
  // More in flight than the node's HTTP/2 stream limit (1000 per connection) only measures refusals.
  const maxInFlight = 800 * producers.length;
  let inFlight = 0;
  let skipped = 0;
  const t0 = performance.now();
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * o.rate));
    while (due - sent >= Math.min(batch, total - sent) && sent < total) {
      const size = Math.min(batch, total - sent);
      const first = sent;
      sent += size;
      if (inFlight >= maxInFlight) {
        skipped += size;
        continue;
      }
      const items = Array.from({ length: size }, (_, j) => request(prefix, first + j));
      onSend(items.map((item) => item.envelope.messageId));
      inFlight++;
      const producer = producers[first % producers.length] as Boundary;
      const call =
        size === 1
          ? producer.appendFact(items[0] as (typeof items)[number])
          : producer.appendFacts({ items }).then((res) => {
              const refused = res.results.find((r) => r.outcome.case !== "ok");
              if (refused !== undefined) throw new Error(`refused: ${JSON.stringify(refused.outcome.value)}`);
            });
      pending.push(
        call
          .catch((error: unknown) => {
            errors += size;
            firstError ??= error instanceof Error ? error.message : String(error);
          })
          .finally(() => {
            inFlight--;
          }),
      );
    }
    await delay(2);
  }
  const seconds = (performance.now() - t0) / 1000;
  await Promise.all(pending);
  return {
    seconds: round(seconds, 2),
    sent: total - errors - skipped,
    errors,
    skipped,
    ...(firstError === undefined ? {} : { firstError }),
  };
}
