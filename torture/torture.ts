import { createHash, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { connect as tlsConnect } from "node:tls";
import { type Client, ConnectError } from "@connectrpc/connect";
import { readerName } from "../src/dev/mesh-config.js";
import { peerConsumerName } from "../src/domain/consumer-policy.js";
import type { BoundaryService, PutObjectRequest } from "../src/gen/bsfg/v1/boundary_pb.js";
import { codeName } from "../src/rpc/error-mapping.js";
import {
  type AppendOutcome,
  type AppendSpec,
  type HandoffSnapshot,
  Ledger,
  snapshot,
  verifyDrained,
} from "../test/fixtures/handoff-truth.js";
import { startZones, type Zone, type Zones } from "../test/fixtures/zones.js";
import {
  type Artifact,
  type ConflictAnswer,
  checkArtifact,
  checkConflict,
  checkConsumerEnd,
  checkFetch,
  checkMetrics,
  checkRedelivery,
  type Fetched,
} from "./checks.js";

// The fault-injection campaign (issue 7): two zones as real processes, seeded
// producers and consumers in both directions, N injected faults, then every
// invariant checked against the zones' JetStream contents read directly.

export const FAULT_TYPES = [
  "node-kill",
  "nats-kill",
  "partition",
  "slow-link",
  "lossy-link",
  "consumer-crash",
  "artifact-restart",
  "cert-rotation",
] as const;
/** Drawn only with `cluster: true`: kill -9 of one server of the cluster zone's JetStream cluster. */
export const CLUSTER_FAULT_TYPES = ["cluster-server-kill"] as const;
export type FaultType = (typeof FAULT_TYPES)[number] | (typeof CLUSTER_FAULT_TYPES)[number];

const WEIGHTS: Record<FaultType, number> = {
  "node-kill": 3,
  "nats-kill": 3,
  partition: 3,
  "slow-link": 2,
  "lossy-link": 2,
  "consumer-crash": 3,
  "artifact-restart": 1,
  "cert-rotation": 2,
  "cluster-server-kill": 4,
};

const ZONES = ["enterprise", "plant-a"] as const;
/** With `cluster: true`, this zone's NATS is a 3-node JetStream cluster. */
export const CLUSTER_ZONE = "plant-a";
/** Streams whose leader a cluster-server-kill aims at half of the time. */
const LEADER_TARGETS = [
  "facts_operational",
  "facts_audit",
  "forward_operational",
  "forward_audit",
  "bsfg_index",
  "KV_bsfg_cursors",
  "objects_artifacts",
] as const;
/** A killed cluster server is back and every replica current before anything else happens. */
const CLUSTER_HEAL_TIMEOUT_MS = 120_000;
/** Categories producers write (documents carries only artifact-referencing facts). */
const FACT_CATEGORIES = ["operational", "audit"] as const;
const ALL_CATEGORIES = ["operational", "audit", "documents"] as const;
const MIB = 1024 * 1024;
/** Answers that are legitimate while a fault is in force: retry the same fact. */
const TRANSIENT = new Set([
  "unavailable",
  "resource_exhausted",
  "deadline_exceeded",
  "internal",
  "unknown",
  "aborted",
  "canceled",
]);

export interface TortureOptions {
  readonly faults: number;
  readonly seed: number;
  /** Spread the faults over at least this long (ms); default: random 0.2–1.5 s gaps. */
  readonly durationMs?: number;
  /** Facts per second per direction (default 30). */
  readonly ratePerSecond?: number;
  /** Largest artifact in MiB (default 24). */
  readonly artifactMaxMiB?: number;
  /**
   * Run plant-a on a 3-node JetStream cluster (every stream and bucket at
   * replicas 3) and add `cluster-server-kill` to the drawn faults. `nats-kill`
   * then only hits enterprise's single server: the cluster loses one server at a time.
   */
  readonly cluster?: boolean;
  /** Restrict the fault types drawn. */
  readonly faultTypes?: readonly FaultType[];
  /** Where the JSON report goes (none if absent). */
  readonly reportPath?: string;
  /** Progress lines. */
  readonly log?: (line: string) => void;
}

export interface FaultRecord {
  readonly n: number;
  readonly type: FaultType;
  readonly detail: string;
  readonly atMs: number;
  readonly tookMs: number;
}

export interface TortureReport {
  readonly seed: number;
  readonly faultsRequested: number;
  /** Set when a zone ran on a JetStream cluster. */
  readonly cluster?: {
    readonly zone: string;
    readonly servers: readonly string[];
    readonly replicas: number;
  };
  readonly faultsInjected: Record<string, number>;
  readonly faults: FaultRecord[];
  readonly durationMs: number;
  readonly checked: {
    appendsAcknowledged: number;
    factsInForwardBuffers: Record<string, number>;
    identicalRetries: number;
    identicalRetriesAfterFailure: number;
    conflictingRetriesRejected: number;
    conflictingRetriesInconclusive: number;
    consumerFactsSeen: Record<string, number>;
    consumerRedeliveries: number;
    consumerCrashes: number;
    artifactsVerified: number;
    artifactBytes: number;
    metricsChecked: number;
    failureCodes: Record<string, number>;
  };
  readonly violations: string[];
  readonly passed: boolean;
  /** Kept (BSFG_KEEP_ZONES) when there were violations: configs, PKI, node logs. */
  readonly zonesDir?: string;
}

// ---------------------------------------------------------------- PRNG

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Rng {
  readonly next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)] as T;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

const other = (zone: string): string => (zone === ZONES[0] ? ZONES[1] : ZONES[0]);

function codeOf(error: unknown): string {
  return codeName(ConnectError.from(error).code);
}

// ---------------------------------------------------------------- producers

interface Stats {
  identicalRetries: number;
  identicalRetriesAfterFailure: number;
  conflictingRetriesRejected: number;
  conflictingRetriesInconclusive: number;
  consumerRedeliveries: number;
  consumerCrashes: number;
}

/** Producer calls carry a deadline, so a call parked on a dead connection becomes a retry instead of a stall. */
const APPEND_TIMEOUT_MS = 15_000;
const appendOne = (ledger: Ledger, client: Client<typeof BoundaryService>, spec: AppendSpec) =>
  ledger.append(client, spec, APPEND_TIMEOUT_MS);
const appendBatch = (ledger: Ledger, client: Client<typeof BoundaryService>, specs: readonly AppendSpec[]) =>
  ledger.appendBatch(client, specs, APPEND_TIMEOUT_MS);

class TortureProducer {
  #stopped = false;
  #running: Promise<void> = Promise.resolve();
  #n = 0;
  /** Specs whose last attempt failed: retried identically later. */
  readonly pending: AppendSpec[] = [];
  readonly acked: AppendSpec[] = [];

  constructor(
    private readonly ledger: Ledger,
    private readonly zone: Zone,
    private readonly rng: Rng,
    private readonly seed: number,
    private readonly rate: number,
    private readonly stats: Stats,
    private readonly violations: string[],
  ) {}

  start(): this {
    this.#running = this.#loop();
    return this;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#running;
  }

  #settle(specs: readonly AppendSpec[], outcomes: readonly AppendOutcome[], retry: boolean): void {
    specs.forEach((spec, i) => {
      const o = outcomes[i] as AppendOutcome;
      if (o.ok) {
        if (retry) this.stats.identicalRetriesAfterFailure++;
        this.acked.push(spec);
      } else {
        if (!TRANSIENT.has(o.code))
          this.violations.push(`append of ${spec.id} refused [${o.code}] ${o.message} (a legitimate fact)`);
        this.pending.push(spec);
      }
    });
  }

  async #loop(): Promise<void> {
    const from = this.zone.name;
    const to = other(from);
    while (!this.#stopped) {
      const r = this.rng.next();
      let sent = 1;
      try {
        if (this.pending.length > 0 && r < 0.3) {
          // Identical retry of a failed attempt (it may have landed: then duplicate=true, original offset).
          const spec = this.pending.shift() as AppendSpec;
          this.#settle([spec], [await appendOne(this.ledger, this.zone.client, spec)], true);
        } else if (this.acked.length > 0 && r < 0.36) {
          // Deliberate identical retry of an acknowledged fact: the ledger checks offset and duplicate=true.
          const spec = this.rng.pick(this.acked);
          const o = await appendOne(this.ledger, this.zone.client, spec);
          if (o.ok) this.stats.identicalRetries++;
        } else if (this.acked.length > 0 && r < 0.4) {
          await this.#conflict(this.rng.pick(this.acked));
        } else {
          const batch = this.rng.chance(0.5) ? 1 : this.rng.int(2, 12);
          sent = batch;
          const specs = Array.from({ length: batch }, () => ({
            from,
            to,
            category: this.rng.pick(FACT_CATEGORIES),
            id: `t${this.seed}-${from}-${this.#n++}`,
          }));
          const outcomes =
            batch === 1
              ? [await appendOne(this.ledger, this.zone.client, specs[0] as AppendSpec)]
              : await appendBatch(this.ledger, this.zone.client, specs);
          this.#settle(specs, outcomes, false);
        }
      } catch (error) {
        this.violations.push(`producer ${from}: ${(error as Error).message}`);
      }
      await delay((sent * 1000) / this.rate);
    }
  }

  /** Same message_id, different content: must be already_exists naming the original offset. */
  async #conflict(spec: AppendSpec): Promise<void> {
    const request = this.ledger.request(spec);
    const acked = this.ledger.entries.get(spec.id)?.acked;
    const conflicting = {
      envelope: request.envelope ?? {},
      category: spec.category,
      fact: {
        subject: `order:${spec.id}`,
        predicate: "order_created",
        objectJson: JSON.stringify({ id: spec.id, conflicting: this.rng.int(0, 1e9) }),
      },
    };
    let answer: ConflictAnswer;
    try {
      const res = await this.zone.client.appendFact(conflicting, { timeoutMs: 15_000 });
      answer = { accepted: { offset: Number(res.offset), duplicate: res.duplicate } };
    } catch (error) {
      const e = ConnectError.from(error);
      const existing = e.metadata.get("bsfg-existing-offset");
      answer = {
        code: codeName(e.code),
        message: e.rawMessage,
        ...(existing !== null && { existingOffset: Number(existing) }),
      };
    }
    const { verdict, violation } = checkConflict(spec.id, acked?.offset, answer, TRANSIENT);
    if (verdict === "rejected") this.stats.conflictingRetriesRejected++;
    else if (verdict === "inconclusive") this.stats.conflictingRetriesInconclusive++;
    else this.violations.push(violation ?? `CONFLICT: ${spec.id}`);
  }
}

// ---------------------------------------------------------------- consumers

/**
 * A zone's `<category>-reader` as an application: records every fetched fact,
 * confirms at random points, sometimes crashes between fetch and confirm.
 */
class TortureConsumer {
  readonly consumer: string;
  /** offset → message_id of everything ever fetched. */
  readonly seen = new Map<number, string>();
  confirmed = 0;
  #pendingConfirm: number | undefined;
  #stopped = false;
  #running: Promise<void> = Promise.resolve();
  crashRequested = false;
  #redeliver: Fetched[] | undefined;

  constructor(
    readonly zone: Zone,
    readonly category: string,
    private readonly rng: Rng,
    private readonly stats: Stats,
    private readonly violations: string[],
  ) {
    this.consumer = readerName(category);
  }

  get key(): string {
    return `${this.zone.name}/${this.consumer}`;
  }

  start(): this {
    this.#running = (async () => {
      while (!this.#stopped) {
        const ok = await this.step(this.rng.int(1, 200), 500, true).catch(() => false);
        await delay(ok === false ? 200 : this.rng.int(0, 150));
      }
    })();
    return this;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#running;
  }

  /** One fetch (+ maybe a confirm). Returns the number of facts fetched; throws on RPC errors. */
  async step(limit: number, waitMs: number, random: boolean): Promise<number> {
    const res = await this.zone.client.fetchFacts(
      { consumerName: this.consumer, limit, waitMs },
      { timeoutMs: waitMs + 10_000 },
    );
    const cursor = Number(res.cursor);
    const facts: Fetched[] = res.facts.map((f) => ({
      offset: Number(f.offset),
      id: f.envelope?.messageId ?? "",
    }));
    const checked = checkFetch(
      this.key,
      { confirmed: this.confirmed, pendingConfirm: this.#pendingConfirm, seen: this.seen },
      cursor,
      facts,
    );
    this.violations.push(...checked.violations);
    this.stats.consumerRedeliveries += checked.redelivered;
    this.confirmed = Math.max(this.confirmed, cursor);
    this.#pendingConfirm = undefined;
    for (const f of facts) this.seen.set(f.offset, f.id);
    if (this.#redeliver !== undefined && facts.length > 0) {
      const lost = checkRedelivery(this.key, this.#redeliver, facts);
      this.#redeliver = undefined;
      if (lost !== undefined) this.violations.push(lost);
    }
    if (facts.length === 0) return 0;
    if (random && this.crashRequested) {
      // Crash between fetch and confirm: forget what was fetched; it must come back.
      this.crashRequested = false;
      this.stats.consumerCrashes++;
      this.#redeliver = facts;
      return facts.length;
    }
    if (random && this.rng.chance(0.25)) return facts.length; // not confirmed yet
    const upTo = random ? (facts[this.rng.int(0, facts.length - 1)] as { offset: number }) : facts.at(-1);
    const offset = upTo?.offset ?? cursor;
    this.#pendingConfirm = offset;
    const confirmed = await this.zone.client.confirmReceipt(
      { consumerName: this.consumer, offset: BigInt(offset) },
      { timeoutMs: 10_000 },
    );
    if (Number(confirmed.cursorAdvancedTo) !== offset)
      this.violations.push(`CONFIRM: ${this.key} confirm ${offset} answered ${confirmed.cursorAdvancedTo}`);
    this.confirmed = Math.max(this.confirmed, Number(confirmed.cursorAdvancedTo));
    this.#pendingConfirm = undefined;
    return facts.length;
  }
}

// ---------------------------------------------------------------- helpers

async function eventually(check: () => Promise<boolean> | boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await Promise.resolve(check()).catch(() => false)) return true;
    if (Date.now() > deadline) return false;
    await delay(100);
  }
}

const ready = (zone: Zone) =>
  fetch(`${zone.adminUrl}/readyz`).then(
    (r) => r.status === 200,
    () => false,
  );

/** Deterministic bytes for an artifact. */
function artifactBytes(seed: number, size: number): Buffer {
  const next = mulberry32(seed);
  const b = Buffer.alloc(size);
  for (let i = 0; i + 4 <= size; i += 4) b.writeUInt32LE(Math.floor(next() * 4294967296), i);
  return b;
}

/** The fingerprint of the certificate the node serves right now. */
function servedCertificate(zone: Zone, ca: string): Promise<string> {
  const url = new URL(zone.rpcUrl);
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({
      host: url.hostname,
      port: Number(url.port),
      ca: readFileSync(ca),
      cert: readFileSync(zone.app.cert),
      key: readFileSync(zone.app.key),
      ALPNProtocols: ["h2"],
      rejectUnauthorized: true,
    });
    socket.once("secureConnect", () => {
      const fp = socket.getPeerCertificate().fingerprint256;
      socket.destroy();
      resolve(fp);
    });
    socket.once("error", reject);
    socket.setTimeout(5_000, () => {
      socket.destroy();
      reject(new Error("timeout"));
    });
  });
}

// ---------------------------------------------------------------- the campaign

export async function runTorture(options: TortureOptions): Promise<TortureReport> {
  const log = options.log ?? (() => undefined);
  const seed = options.seed >>> 0;
  const started = Date.now();
  const violations: string[] = [];
  const stats: Stats = {
    identicalRetries: 0,
    identicalRetriesAfterFailure: 0,
    conflictingRetriesRejected: 0,
    conflictingRetriesInconclusive: 0,
    consumerRedeliveries: 0,
    consumerCrashes: 0,
  };
  const faultRng = new Rng(seed);
  const cluster = options.cluster === true;
  const types = options.faultTypes ?? (cluster ? [...FAULT_TYPES, ...CLUSTER_FAULT_TYPES] : FAULT_TYPES);
  if (!cluster && types.includes("cluster-server-kill"))
    throw new Error("cluster-server-kill needs cluster: true (npm run torture -- --cluster)");
  /** Zones whose NATS is a single server (nats-kill targets). */
  const singleServerZones = ZONES.filter((z) => !cluster || z !== CLUSTER_ZONE);
  const faults: FaultRecord[] = [];
  const artifacts: Artifact[] = [];
  const ledger = new Ledger();
  let zones: Zones | undefined;
  let snap: HandoffSnapshot | undefined;
  const checked: TortureReport["checked"] = {
    appendsAcknowledged: 0,
    factsInForwardBuffers: {},
    identicalRetries: 0,
    identicalRetriesAfterFailure: 0,
    conflictingRetriesRejected: 0,
    conflictingRetriesInconclusive: 0,
    consumerFactsSeen: {},
    consumerRedeliveries: 0,
    consumerCrashes: 0,
    artifactsVerified: 0,
    artifactBytes: 0,
    metricsChecked: 0,
    failureCodes: {},
  };
  try {
    zones = await startZones(ZONES, undefined, cluster ? { clusters: [CLUSTER_ZONE] } : {});
    const zs = zones;
    log(`zones up in ${zs.dir}`);
    const producers = ZONES.map((name, i) =>
      new TortureProducer(
        ledger,
        zs.zone(name),
        new Rng(seed + 1000 + i),
        seed,
        options.ratePerSecond ?? 30,
        stats,
        violations,
      ).start(),
    );
    const consumers = ZONES.flatMap((name, i) =>
      ALL_CATEGORIES.map((c, j) =>
        new TortureConsumer(zs.zone(name), c, new Rng(seed + 2000 + i * 10 + j), stats, violations).start(),
      ),
    );

    const injectors: Record<FaultType, (n: number) => Promise<string>> = {
      "node-kill": async () => {
        const zone = zs.zone(faultRng.pick(ZONES));
        const down = faultRng.int(0, 2000);
        await zone.node.kill();
        await delay(down);
        await zone.node.start();
        return `${zone.name} node kill -9, down ${down} ms`;
      },
      "nats-kill": async () => {
        const zone = zs.zone(faultRng.pick(singleServerZones));
        const down = faultRng.int(300, 3000);
        await zone.nats.kill();
        await delay(down);
        await zone.nats.restart();
        if (!(await eventually(() => ready(zone), 30_000)))
          violations.push(`${zone.name}: node not ready 30 s after its nats-server restarted`);
        return `${zone.name} nats-server kill -9, down ${down} ms`;
      },
      partition: async () => {
        const which = faultRng.pick(["enterprise", "plant-a", "both"] as const);
        const proxies = which === "both" ? ZONES.map((z) => zs.zone(z).proxy) : [zs.zone(which).proxy];
        const ms = faultRng.int(300, 5000);
        for (const p of proxies) p.cut();
        await delay(ms);
        for (const p of proxies) p.heal();
        return `partition (${which}) ${ms} ms`;
      },
      "slow-link": async () => {
        const zone = zs.zone(faultRng.pick(ZONES));
        const delayMs = faultRng.int(20, 300);
        const ms = faultRng.int(1500, 6000);
        zone.proxy.impair({ delayMs });
        await delay(ms);
        zone.proxy.impair({});
        return `slow link to ${zone.name}: +${delayMs} ms per chunk for ${ms} ms`;
      },
      "lossy-link": async () => {
        const zone = zs.zone(faultRng.pick(ZONES));
        const resetProbability = faultRng.int(5, 100) / 1000;
        const stallMs = faultRng.int(300, 3000);
        const ms = faultRng.int(1500, 6000);
        zone.proxy.impair({ resetProbability, stallProbability: 0.05, stallMs });
        await delay(ms);
        zone.proxy.impair({});
        return `lossy link to ${zone.name}: reset p=${resetProbability}, stalls ${stallMs} ms p=0.05, for ${ms} ms`;
      },
      "consumer-crash": async () => {
        // documents-readers only see facts when an artifact crossed: crash the busy readers.
        const c = faultRng.pick(consumers.filter((x) => x.category !== "documents"));
        const before = stats.consumerCrashes;
        c.crashRequested = true;
        const happened = await eventually(() => stats.consumerCrashes > before, 15_000);
        if (!happened) c.crashRequested = false;
        return `${c.key} crash between fetch and confirm${happened ? "" : " (no facts to drop within 15 s)"}`;
      },
      "artifact-restart": async (n) => {
        const from = faultRng.pick(ZONES);
        const to = other(from);
        const size = faultRng.int(2 * MIB, (options.artifactMaxMiB ?? 24) * MIB);
        const bytes = artifactBytes(seed * 7919 + n, size);
        const digest = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
        const key = `torture/${seed}/${n}.bin`;
        const id = `t${seed}-artifact-${n}`;
        const source = zs.zone(from);
        let put: { digest: string; size: bigint } | undefined;
        for (let attempt = 0; put === undefined && attempt < 20; attempt++) {
          try {
            put = await source.client.putObject(
              (async function* () {
                yield {
                  part: {
                    case: "header",
                    value: {
                      bucket: "artifacts",
                      key,
                      mediaType: "application/octet-stream",
                      size: BigInt(size),
                    },
                  },
                } as PutObjectRequest;
                for (let at = 0; at < size; at += MIB)
                  yield {
                    part: { case: "chunk", value: bytes.subarray(at, at + MIB) },
                  } as unknown as PutObjectRequest;
              })(),
              { timeoutMs: 60_000 },
            );
          } catch (error) {
            if (!TRANSIENT.has(codeOf(error))) throw error;
            await delay(500);
          }
        }
        if (put === undefined) throw new Error(`PutObject ${key} kept failing`);
        if (put.digest !== digest)
          violations.push(`ARTIFACT: PutObject ${key} answered ${put.digest}, sent ${digest}`);
        const spec: AppendSpec = { from, to, category: "documents", id };
        ledger.entries.set(id, { spec, producedAtUnixMs: BigInt(Date.now()), failures: [], attempts: 0 });
        const request = {
          envelope: {
            messageId: id,
            fromZone: from,
            toZone: to,
            producedAtUnixMs: BigInt(Date.now()),
            objectMediaType: "application/octet-stream",
          },
          fact: {
            subject: `batch:${id}`,
            predicate: "batch_record_released",
            objectJson: JSON.stringify({ bucket: "artifacts", key, digest, size }),
          },
          category: "documents",
        };
        const moving = source.proxy.bytesFromTarget;
        const appended = await eventually(async () => {
          let outcome: AppendOutcome;
          try {
            const res = await source.client.appendFact(request, { timeoutMs: 15_000 });
            outcome = { ok: true, offset: Number(res.offset), duplicate: res.duplicate };
          } catch (error) {
            const e = ConnectError.from(error);
            outcome = { ok: false, code: codeName(e.code), message: e.rawMessage };
          }
          ledger.record(spec, outcome);
          return outcome.ok;
        }, 60_000);
        if (!appended) violations.push(`ARTIFACT: append of ${id} never acknowledged`);
        artifacts.push({ id, from, to, key, digest, size });
        // Kill the receiver once the copy is under way.
        const crossing = await eventually(
          () => source.proxy.bytesFromTarget - moving > Math.min(MIB, size / 4),
          30_000,
        );
        const receiver = zs.zone(to);
        await receiver.node.kill();
        const down = faultRng.int(0, 1500);
        await delay(down);
        await receiver.node.start();
        return `${(size / MIB).toFixed(1)} MiB artifact ${key} ${from}→${to}, receiver ${to} kill -9 ${
          crossing
            ? `after ${((source.proxy.bytesFromTarget - moving) / MIB).toFixed(1)} MiB moved`
            : "(copy not seen moving)"
        }, down ${down} ms`;
      },
      "cluster-server-kill": async () => {
        const zone = zs.zone(CLUSTER_ZONE);
        const nats = zone.natsCluster;
        if (nats === undefined) throw new Error(`${CLUSTER_ZONE} runs no JetStream cluster`);
        // Draw everything up front so the fault sequence depends on the seed only.
        const aimAtLeader = faultRng.chance(0.5);
        const stream = faultRng.pick(LEADER_TARGETS);
        const random = faultRng.int(0, nats.servers.length - 1);
        const down = faultRng.int(300, 4000);
        const leader = aimAtLeader ? await nats.leaderOf(stream).catch(() => undefined) : undefined;
        const victim = leader ?? random;
        const server = nats.servers[victim] as (typeof nats.servers)[number];
        await server.kill();
        try {
          await delay(down);
        } finally {
          await server.restart();
        }
        // Only one server may be down or catching up at a time: a second loss before
        // the first is current again would take the cluster below quorum.
        const back = Date.now();
        let problems: string[] = [];
        const healed = await eventually(async () => {
          problems = await nats.problems();
          return problems.length === 0;
        }, CLUSTER_HEAL_TIMEOUT_MS);
        const healMs = Date.now() - back;
        if (!healed)
          violations.push(
            `CLUSTER: ${CLUSTER_ZONE} not fully replicated ${CLUSTER_HEAL_TIMEOUT_MS / 1000} s after ${nats.serverNames[victim]} restarted: ${problems.join("; ")}`,
          );
        if (!(await eventually(() => ready(zone), 30_000)))
          violations.push(`${zone.name}: node not ready 30 s after ${nats.serverNames[victim]} restarted`);
        return `${nats.serverNames[victim]}${leader === undefined ? "" : ` (leader of ${stream})`} kill -9, down ${down} ms, replicas current ${healMs} ms after restart`;
      },
      "cert-rotation": async () => {
        const zone = zs.zone(faultRng.pick(ZONES));
        const pem = await zs.rotateNodeCertificate(zone.name);
        const fingerprint = new X509Certificate(pem).fingerprint256;
        const how = faultRng.chance(0.5) ? "SIGHUP" : "file watch";
        if (how === "SIGHUP" && zone.node.pid !== undefined) process.kill(zone.node.pid, "SIGHUP");
        const served = await eventually(
          async () => (await servedCertificate(zone, zs.ca)) === fingerprint,
          15_000,
        );
        if (!served)
          violations.push(
            `CERT ROTATION: ${zone.name} still serves its old certificate 15 s after rotation (${how})`,
          );
        return `${zone.name} node certificate re-issued (same CA), reload by ${how}${served ? "" : " — NOT PICKED UP"}`;
      },
    };

    // The first len(types) faults cover every type once (shuffled); the rest are weighted draws.
    const order = [...types].sort(() => faultRng.next() - 0.5);
    const weighted = types.flatMap((t) => Array.from({ length: WEIGHTS[t] }, () => t));
    await delay(1500);
    for (let n = 0; n < options.faults; n++) {
      const type = n < order.length ? (order[n] as FaultType) : faultRng.pick(weighted);
      const at = Date.now();
      let detail: string;
      try {
        detail = await injectors[type](n);
      } catch (error) {
        detail = `injector failed: ${(error as Error).message}`;
        violations.push(`fault ${n} (${type}): ${detail}`);
      }
      faults.push({ n, type, detail, atMs: at - started, tookMs: Date.now() - at });
      log(`fault ${n + 1}/${options.faults} ${type}: ${detail}`);
      const gap =
        options.durationMs === undefined
          ? faultRng.int(200, 1500)
          : started + ((n + 1) * options.durationMs) / options.faults - Date.now();
      if (gap > 0) await delay(gap);
    }

    // ------------------------------------------------------------ recovery and checks
    log("faults done: stopping producers, healing everything");
    await Promise.all(producers.map((p) => p.stop()));
    for (const name of ZONES) {
      const z = zs.zone(name);
      z.proxy.heal();
      z.proxy.impair({});
      if (!z.node.running) await z.node.start();
    }
    const natsCluster = zs.zone(CLUSTER_ZONE).natsCluster;
    if (natsCluster !== undefined) {
      let problems: string[] = [];
      const healthy = await eventually(async () => {
        problems = await natsCluster.problems();
        return problems.length === 0;
      }, CLUSTER_HEAL_TIMEOUT_MS);
      if (!healthy)
        violations.push(`CLUSTER: ${CLUSTER_ZONE} not fully replicated at the end: ${problems.join("; ")}`);
    }
    // Every unacknowledged fact is retried identically until acknowledged.
    for (const entry of ledger.unacknowledged()) {
      const ok = await eventually(
        async () => (await appendOne(ledger, zs.zone(entry.spec.from).client, entry.spec)).ok,
        60_000,
      );
      if (ok) stats.identicalRetriesAfterFailure++;
      else violations.push(`retry of ${entry.spec.id} never acknowledged: ${entry.failures.join(",")}`);
    }
    await Promise.all(consumers.map((c) => c.stop()));
    log("draining");
    try {
      snap = await verifyDrained(zs, ledger, ALL_CATEGORIES, 180_000);
    } catch (error) {
      violations.push(
        ...(error as Error).message
          .split("\n")
          .map((l) => l.trim())
          .filter((l) => l !== ""),
      );
      snap = await snapshot(zs, ALL_CATEGORIES);
    }
    const s = snap;
    for (const name of ZONES)
      for (const c of ALL_CATEGORIES)
        checked.factsInForwardBuffers[`${name}/forward_${c}`] = s.forward.get(name)?.get(c)?.length ?? 0;

    // Consumers: drive each to the end, then compare with the forward buffer.
    for (const c of consumers) {
      const records = s.forward.get(c.zone.name)?.get(c.category) ?? [];
      const last = records.at(-1)?.seq ?? 0;
      const done = await eventually(async () => {
        await c.step(1000, 200, false);
        return c.confirmed >= last;
      }, 60_000);
      if (!done) log(`${c.key} did not reach ${last} in 60 s`);
      violations.push(...checkConsumerEnd(c.key, c.seen, c.confirmed, records));
      checked.consumerFactsSeen[c.key] = c.seen.size;
    }

    // Artifacts referenced by delivered facts: in the destination, exact bytes.
    for (const a of artifacts) {
      const delivered = (s.forward.get(a.to)?.get("documents") ?? []).some((r) => r.messageId === a.id);
      if (!delivered) continue; // verifyDrained already reports a lost fact
      const copy = createHash("sha256");
      let size = 0;
      let infoDigest: string | undefined;
      try {
        for await (const res of zs
          .zone(a.to)
          .client.getObject({ bucket: "artifacts", key: a.key }, { timeoutMs: 120_000 })) {
          if (res.part.case === "info") infoDigest = res.part.value.digest;
          if (res.part.case === "chunk") {
            copy.update(res.part.value);
            size += res.part.value.length;
          }
        }
        const wrong = checkArtifact(a, { infoDigest, digest: `sha256:${copy.digest("hex")}`, size });
        violations.push(...wrong);
        if (wrong.length === 0) {
          checked.artifactsVerified++;
          checked.artifactBytes += size;
        }
      } catch (error) {
        violations.push(
          `ARTIFACT: ${a.id} delivered to ${a.to} but ${a.key} cannot be read: ${(error as Error).message}`,
        );
      }
    }

    // Metrics against the ground truth.
    for (const name of ZONES) {
      const zone = zs.zone(name);
      const peer = other(name);
      const want = new Map<string, number>();
      for (const c of ALL_CATEGORIES) {
        // Backlog of the peer's consumer in this zone's store buffer: all confirmed → 0.
        want.set(`bsfg_backlog_facts|${peerConsumerName(peer, c)}`, 0);
        // This zone's local reader drained everything.
        want.set(`bsfg_backlog_facts|${readerName(c)}`, 0);
        const imported = (s.forward.get(name)?.get(c) ?? [])
          .filter((r) => r.source?.zone === peer)
          .reduce((m, r) => Math.max(m, r.source?.offset ?? 0), 0);
        want.set(`bsfg_replication_lag_high_watermark|${peer}/${c}`, imported);
      }
      let mismatches: string[] = [];
      await eventually(async () => {
        const text = await (await fetch(`${zone.adminUrl}/metrics`)).text();
        mismatches = checkMetrics(name, text, want);
        return mismatches.length === 0;
      }, 20_000);
      checked.metricsChecked += want.size;
      for (const m of mismatches) violations.push(`METRICS: ${m}`);
    }
  } catch (error) {
    violations.push(`harness: ${(error as Error).stack ?? String(error)}`);
  } finally {
    if (violations.length > 0 && zones !== undefined) process.env.BSFG_KEEP_ZONES = "1";
    await zones?.stop();
  }
  const faultsInjected: Record<string, number> = {};
  for (const f of faults) faultsInjected[f.type] = (faultsInjected[f.type] ?? 0) + 1;
  Object.assign(checked, stats, {
    appendsAcknowledged: ledger.acknowledged().length,
    failureCodes: ledger.failureCodes(),
  });
  const report: TortureReport = {
    seed,
    faultsRequested: options.faults,
    ...(cluster && {
      cluster: {
        zone: CLUSTER_ZONE,
        servers: [...(zones?.zone(CLUSTER_ZONE).natsCluster?.serverNames ?? [])],
        replicas: 3,
      },
    }),
    faultsInjected,
    faults,
    durationMs: Date.now() - started,
    checked,
    violations,
    passed: violations.length === 0,
    ...(violations.length > 0 && zones !== undefined && { zonesDir: zones.dir }),
  };
  if (options.reportPath !== undefined) {
    await mkdir(dirname(options.reportPath), { recursive: true });
    await writeFile(options.reportPath, `${JSON.stringify(report, null, 2)}\n`);
  }
  return report;
}

/** The human summary printed at the end of a run. */
export function summarize(report: TortureReport): string {
  const c = report.checked;
  const lines = [
    `BSFG torture — seed ${report.seed}, ${report.faults.length}/${report.faultsRequested} faults in ${(report.durationMs / 1000).toFixed(1)} s`,
    ...(report.cluster === undefined
      ? []
      : [
          `${report.cluster.zone} on a ${report.cluster.servers.length}-node JetStream cluster (${report.cluster.servers.join(", ")}), replicas ${report.cluster.replicas}`,
        ]),
    `faults by type: ${Object.entries(report.faultsInjected)
      .map(([t, n]) => `${t}=${n}`)
      .join(" ")}`,
    `appends acknowledged: ${c.appendsAcknowledged}; failed attempts by code: ${JSON.stringify(c.failureCodes)}`,
    `forward buffers: ${Object.entries(c.factsInForwardBuffers)
      .map(([k, n]) => `${k}=${n}`)
      .join(" ")}`,
    `identical retries: ${c.identicalRetries} of acknowledged facts (original offset, duplicate=true), ${c.identicalRetriesAfterFailure} after a failed attempt`,
    `conflicting retries: ${c.conflictingRetriesRejected} rejected already_exists with the original offset, ${c.conflictingRetriesInconclusive} inconclusive (transient error)`,
    `consumers: ${Object.entries(c.consumerFactsSeen)
      .map(([k, n]) => `${k}=${n}`)
      .join(
        " ",
      )}; ${c.consumerCrashes} crashes between fetch and confirm, ${c.consumerRedeliveries} redelivered facts`,
    `artifacts verified in destination: ${c.artifactsVerified} (${(c.artifactBytes / MIB).toFixed(1)} MiB); metrics checked: ${c.metricsChecked}`,
    report.passed ? "RESULT: PASS — 0 violations" : `RESULT: FAIL — ${report.violations.length} violations:`,
    ...report.violations.slice(0, 50).map((v) => `  ${v}`),
  ];
  if (report.zonesDir !== undefined)
    lines.push(`zones kept for post-mortem (configs, PKI, node logs): ${report.zonesDir}`);
  return lines.join("\n");
}
