import type { AddressInfo } from "node:net";
import { type KV, Kvm } from "@nats-io/kv";
import type { DestinationStream, Logger as PinoLogger } from "pino";
import { probeBacklog, probeWholeStream, readsWholeStream } from "./adapters/jetstream/backlog-probe.js";
import { CURSOR_BUCKET } from "./adapters/jetstream/buffer-subjects.js";
import { JetStreamFactLog } from "./adapters/jetstream/jetstream-fact-log.js";
import { JetStreamForwardBuffer } from "./adapters/jetstream/jetstream-forward-buffer.js";
import { JetStreamObjectStore } from "./adapters/jetstream/jetstream-object-store.js";
import { JetStreamStoreBuffer } from "./adapters/jetstream/jetstream-store-buffer.js";
import { sampleJetStreamView } from "./adapters/jetstream/jetstream-view.js";
import { KvCursorStore } from "./adapters/jetstream/kv-cursor-store.js";
import { KvReferenceRegistry, REFERENCE_BUCKET } from "./adapters/jetstream/kv-reference-registry.js";
import {
  provisionBuckets,
  provisionForwardBuffers,
  provisionStoreBuffers,
} from "./adapters/jetstream/provisioning.js";
import { SharedStreamBacklog } from "./adapters/jetstream/shared-stream-backlog.js";
import { StreamFillMonitor } from "./adapters/jetstream/stream-fill-monitor.js";
import { ZoneNats } from "./adapters/jetstream/zone-nats.js";
import { nodeHasher } from "./adapters/node/node-hasher.js";
import { systemClock } from "./adapters/node/system-clock.js";
import { scheduleOrphanSweeps } from "./compose/orphan-sweeps.js";
import { createReceiverLoops } from "./compose/receiver-loops.js";
import {
  bucketPoliciesOf,
  bucketSpecsOf,
  categorySpecsOf,
  consumerSpecsOf,
  factLimitsOf,
  rpcLimitsOf,
  zonePolicyOf,
} from "./config/derive.js";
import type { Config } from "./config/schema.js";
import { BacklogSampler } from "./observability/backlog-sampler.js";
import { certExpirySeconds } from "./observability/cert-expiry.js";
import { createLogger } from "./observability/create-logger.js";
import { createMetrics } from "./observability/create-metrics.js";
import { FillAlerts } from "./observability/fill-alerts.js";
import { HandoffHealth } from "./observability/handoff-health.js";
import { StatusBoard } from "./observability/status-board.js";
import { createBoundaryService } from "./rpc/boundary-service.js";
import { createDrainInterceptor } from "./rpc/drain-interceptor.js";
import { createLoggingInterceptor } from "./rpc/logging-interceptor.js";
import { createRoutes } from "./rpc/routes.js";
import { AdminServer, type Readiness } from "./server/admin-server.js";
import { RpcServer } from "./server/rpc-server.js";
import { loadTlsMaterial, warnOnLoosePermissions, watchTlsFiles } from "./server/tls-files.js";
import { AppendFacts } from "./use-cases/append-facts.js";
import { ArtifactMirror } from "./use-cases/artifact-mirror.js";
import { Artifacts } from "./use-cases/artifacts.js";
import { ConsumerReads } from "./use-cases/consumer-reads.js";
import { RecentAppends } from "./use-cases/recent-appends.js";

/** How often every consumer's cursor and backlog are sampled for metrics and /status. */
const BACKLOG_SAMPLE_MS = 5000;
/** Producers' retries answered from memory: the newest ids, for a minute (retention is hours at least). */
const RECENT_APPENDS = { ttlMs: 60_000, capacity: 16_384 };

export interface ZoneNodeOptions {
  /** Where log lines go (default stdout). */
  readonly logDestination?: DestinationStream;
}

export interface ZoneNode {
  readonly logger: PinoLogger;
  readonly rpcAddress: AddressInfo;
  readonly adminAddress: AddressInfo;
  readiness(): Readiness;
  /** Resolves once NATS is connected and every stream is provisioned. */
  whenReady(): Promise<void>;
  /** Resolves with the error that makes this node unable to run (e.g. a stream that cannot be reconciled). */
  readonly fatal: Promise<Error>;
  /** Graceful stop: not ready, finish in-flight RPCs, drain NATS. Idempotent. */
  stop(): Promise<void>;
  /** Re-reads the TLS files (SIGHUP); new connections use them. Keeps the old ones if the new are invalid. */
  reloadTls(): boolean;
}

/**
 * The composition root: builds adapters, use cases, RPC and admin listeners
 * from a validated config and starts them. Installs no process handlers.
 */
export async function startZoneNode(config: Config, options: ZoneNodeOptions = {}): Promise<ZoneNode> {
  const logger = createLogger({
    zone: config.zone,
    level: config.log_level,
    ...(options.logDestination !== undefined && { destination: options.logDestination }),
  });
  const consumerSpecs = consumerSpecsOf(config);
  const specs = categorySpecsOf(config);
  const opsLogger = logger.child({ component: "alarms" });
  const fillAlerts = new FillAlerts(config.alarms.fill_warn_percent, opsLogger);
  const fill = new StreamFillMonitor(
    specs,
    1000,
    logger.child({ component: "fill-monitor" }),
    (category, percent) => fillAlerts.observe(category, percent),
  );
  const certFiles = { node: config.tls.cert, ca: config.tls.ca };
  const metrics = createMetrics(config.zone, consumerSpecs, {
    fillPercent: (category) => fill.fillPercent(category),
    categories: specs.map((s) => s.name),
    certExpirySeconds: () => certExpirySeconds(certFiles, Date.now()),
  });
  const status = new StatusBoard(consumerSpecs, () => Date.now());
  const health = new HandoffHealth({
    consumers: consumerSpecs,
    maxAgeMs: (category) => specs.find((s) => s.name === category)?.maxAgeMs ?? 0,
    retentionHorizonMs: config.alarms.retention_horizon,
    stallAfterMs: config.alarms.stall_after,
    logger: opsLogger,
  });

  let nats: ZoneNats | undefined;
  let cursorKv: KV | undefined;
  let referenceKv: KV | undefined;
  let provisioned = false;
  let draining = false;
  let reportFatal: (error: Error) => void = () => {};
  const fatal = new Promise<Error>((resolve) => {
    reportFatal = resolve;
  });
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });

  const indexSpecs = specs.filter((s) => s.dedup === "index");
  const indexed = new Set(indexSpecs.map((s) => s.name));
  const store = new RecentAppends(
    new JetStreamStoreBuffer({
      jetstream: () => nats,
      categories: specs,
      publishTimeoutMs: config.nats.request_timeout,
      isConnected: () => nats?.isConnected() ?? false,
      fillPercent: (category) => fill.fillPercent(category),
    }),
    {
      remembers: (category) => indexed.has(category),
      clock: systemClock,
      capacity: RECENT_APPENDS.capacity,
      // Far inside the shortest retention, so a remembered fact is still stored.
      ttlMs: Math.min(
        RECENT_APPENDS.ttlMs,
        ...indexSpecs.filter((s) => s.maxAgeMs > 0).map((s) => s.maxAgeMs / 10),
      ),
    },
  );
  const objectStore = new JetStreamObjectStore({
    nats: () => (nats?.isConnected() ? nats : undefined),
    publishTimeoutMs: config.nats.request_timeout,
    now: () => Date.now(),
  });
  const references = new KvReferenceRegistry(
    () => referenceKv,
    specs.some((s) => s.maxAgeMs === 0) ? 0 : Math.max(...specs.map((s) => s.maxAgeMs)),
    () => Date.now(),
  );
  const artifacts = new Artifacts({
    buckets: bucketPoliciesOf(config),
    store: objectStore,
    references,
    logger: logger.child({ component: "artifacts" }),
  });
  const appendFacts = new AppendFacts({
    artifacts,
    policy: zonePolicyOf(config),
    limits: factLimitsOf(config),
    backPressurePercent: config.backpressure.fill_percent,
    store,
    hasher: nodeHasher,
    clock: systemClock,
    logger: logger.child({ component: "append" }),
    observer: metrics.dedup,
  });

  const cursors = new KvCursorStore(() => cursorKv);
  const consumerReads = new ConsumerReads({
    consumers: consumerSpecs,
    log: new JetStreamFactLog(() => nats),
    cursors,
    observer: {
      fetched: (consumer, count) => metrics.consumers.fetched(consumer, count),
      confirmed: (consumer, cursor) => {
        metrics.consumers.confirmed(consumer, cursor);
        status.confirmed(consumer, cursor);
      },
    },
    defaultLimit: config.fetch.default_limit,
    maxLimit: config.fetch.max_limit,
    maxWaitMs: config.fetch.max_wait,
  });
  const loopObserver = {
    gate: (peer: string, state: Parameters<StatusBoard["gate"]>[1]) => {
      metrics.loops.gate(peer, state);
      status.gate(peer, state);
    },
    progress: (peer: string, category: string, hwm: number, lag: number) => {
      metrics.loops.progress(peer, category, hwm, lag);
      status.progress(peer, category, hwm, lag);
    },
  };
  const loopLogger = logger.child({ component: "receiver" });
  const forward = new JetStreamForwardBuffer({
    jetstream: () => nats,
    publishTimeoutMs: config.nats.request_timeout,
  });
  const mirror = new ArtifactMirror(objectStore, references, nodeHasher, (bytes, outcome) =>
    metrics.artifact("import", bytes, outcome),
  );
  const tlsFiles = { ca: config.tls.ca, cert: config.tls.cert, key: config.tls.key };
  warnOnLoosePermissions(tlsFiles, logger);
  const nodeTls = loadTlsMaterial(tlsFiles);
  const { loops, links: peerLinks } = createReceiverLoops(config, {
    tls: nodeTls,
    forward,
    mirror,
    observer: loopObserver,
    logger: loopLogger,
  });
  const stopSweeps = scheduleOrphanSweeps(
    config,
    () => (provisioned ? nats : undefined),
    references,
    logger.child({ component: "orphan-sweep" }),
  );
  const loopsAbort = new AbortController();
  const drainAbort = new AbortController();
  let loopsRunning: Promise<unknown> = Promise.resolve();
  const zoneNats = (): ZoneNats => {
    if (nats === undefined) throw new Error("not connected");
    return nats;
  };
  const sharedStreamBacklog = new SharedStreamBacklog({
    whole: (consumer, cursor) => probeWholeStream(zoneNats().jsm, consumer, cursor),
    count: (consumer, cursor) => {
      const { nc, jsm } = zoneNats();
      return probeBacklog(nc, jsm, consumer, cursor);
    },
    now: () => Date.now(),
    intervalMs: BACKLOG_SAMPLE_MS,
  });
  const sampler = new BacklogSampler({
    consumers: consumerSpecs,
    cursor: (consumer) => cursors.get(consumer),
    probe: async (consumer, cursor) => {
      const { nc, jsm } = zoneNats();
      if (readsWholeStream(consumer, consumerSpecs.values()))
        return (await probeWholeStream(jsm, consumer, cursor)) ?? probeBacklog(nc, jsm, consumer, cursor);
      // A store buffer several peers read: counting one peer's part makes nats-server walk it.
      if (consumer.kind === "peer") return sharedStreamBacklog.probe(consumer, cursor);
      return probeBacklog(nc, jsm, consumer, cursor);
    },
    record: (consumer, cursor, facts, age) => {
      metrics.backlog(consumer, cursor, facts, age);
      const spec = consumerSpecs.get(consumer);
      const state = spec?.kind === "peer" ? fill.state(spec.category) : undefined;
      const average = state !== undefined && state.messages > 0 ? state.bytes / state.messages : undefined;
      status.backlog(consumer, cursor, facts, age, average);
      const h = health.assess(consumer, cursor, facts, age, Date.now());
      metrics.health(consumer, h.headroomSeconds, h.retentionAlarm, h.stalled);
      status.health(consumer, h.headroomSeconds, h.retentionAlarm, h.stalled);
    },
    now: () => Date.now(),
    intervalMs: BACKLOG_SAMPLE_MS,
    logger: logger.child({ component: "backlog" }),
    afterSample: async () => {
      if (nats === undefined) return;
      metrics.jetstream(await sampleJetStreamView(nats.jsm, [...specs.map((s) => `facts_${s.name}`)]));
    },
  });

  const rpc = new RpcServer({
    host: config.listen.rpc.host,
    port: config.listen.rpc.port,
    tls: nodeTls,
    identity: config.tls.identity,
    routes: createRoutes(
      createBoundaryService({
        appendFacts,
        consumerReads,
        artifacts,
        metrics: metrics.append,
        drainSignal: drainAbort.signal,
        onTransfer: (direction, bytes, outcome) => metrics.artifact(direction, bytes, outcome),
      }),
    ),
    interceptors: [
      createLoggingInterceptor(logger.child({ component: "rpc" })),
      createDrainInterceptor(() => draining),
    ],
    readMaxBytes: config.limits.max_request_bytes,
    limits: rpcLimitsOf(config),
    logger: logger.child({ component: "rpc-server" }),
  });
  const readiness = (): Readiness => {
    const reasons: string[] = [];
    if (draining) reasons.push("node is draining");
    if (!(nats?.isConnected() ?? false)) reasons.push("zone NATS is not connected");
    if (!provisioned) reasons.push("streams are not provisioned");
    return { ready: reasons.length === 0, reasons };
  };
  const admin = new AdminServer({
    host: config.listen.admin.host,
    port: config.listen.admin.port,
    readiness,
    metrics: async () => ({
      contentType: metrics.registry.contentType,
      body: await metrics.registry.metrics(),
    }),
    status: async () => ({
      zone: config.zone,
      role: config.role,
      ...readiness(),
      ...status.toJson(),
      categories: specs.map((s) => ({
        category: s.name,
        fill_percent: Math.round(fill.fillPercent(s.name) * 10) / 10,
        facts: fill.state(s.name)?.messages ?? null,
        bytes: fill.state(s.name)?.bytes ?? null,
        max_bytes: s.maxBytes,
        max_age_seconds: s.maxAgeMs / 1000,
        // The tightest consumer of the category decides how close its facts are to expiring unconfirmed.
        retention_headroom_seconds:
          [...status.consumers.values()]
            .filter((c) => c.category === s.name && c.retentionHeadroomSeconds !== null)
            .map((c) => c.retentionHeadroomSeconds as number)
            .sort((a, b) => a - b)[0] ?? null,
      })),
      certificates: Object.fromEntries(
        [...certExpirySeconds(certFiles, Date.now())].map(([name, seconds]) => [
          name,
          {
            file: certFiles[name as keyof typeof certFiles],
            expires_in_seconds: Number.isFinite(seconds) ? seconds : null,
          },
        ]),
      ),
    }),
  });

  const adminAddress = await admin.listen();
  let rpcAddress: AddressInfo;
  try {
    rpcAddress = await rpc.listen();
  } catch (error) {
    await admin.close();
    throw error;
  }
  logger.info(
    {
      rpc: `${rpcAddress.address}:${rpcAddress.port}`,
      admin: `${adminAddress.address}:${adminAddress.port}`,
    },
    "listening",
  );

  const natsLogger = logger.child({ component: "nats" });
  const provision = async (zone: ZoneNats) => {
    await provisionStoreBuffers(zone.jsm, specs, natsLogger);
    await provisionForwardBuffers(zone.jsm, specs, natsLogger);
    await provisionBuckets(zone.jsm, bucketSpecsOf(config), natsLogger);
    referenceKv = await new Kvm(zone.js).create(REFERENCE_BUCKET, {
      history: 1,
      replicas: Math.max(...specs.map((s) => s.replicas)),
    });
    cursorKv = await new Kvm(zone.js).create(CURSOR_BUCKET, {
      history: 1,
      replicas: Math.max(...specs.map((s) => s.replicas)),
    });
    await fill.sample(zone.jsm);
  };
  const connecting = ZoneNats.connect(
    {
      servers: config.nats.servers,
      name: `${config.zone}-bsfg`,
      requestTimeoutMs: config.nats.request_timeout,
      ...(config.nats.user !== undefined && { user: config.nats.user }),
      ...(config.nats.password_file !== undefined && { passwordFile: config.nats.password_file }),
      ...(config.nats.token_file !== undefined && { tokenFile: config.nats.token_file }),
      ...(config.nats.nkey_seed_file !== undefined && { nkeySeedFile: config.nats.nkey_seed_file }),
      ...(config.nats.creds_file !== undefined && { credsFile: config.nats.creds_file }),
      ...(config.nats.tls !== undefined && { tls: config.nats.tls }),
    },
    natsLogger,
    {
      onConnected: async () => {
        // First connect: `nats` is not assigned yet, so provisioning goes through the new connection.
        if (nats !== undefined) await provision(nats);
      },
    },
    () => draining,
  )
    .then(async (zone) => {
      if (zone === undefined) return;
      nats = zone;
      await provision(zone);
      provisioned = true;
      fill.start(() => nats?.jsm);
      sampler.start();
      loopsRunning = Promise.all(loops.map((loop) => loop.run(loopsAbort.signal)));
      logger.info({}, "ready");
      markReady();
    })
    .catch((error: unknown) => {
      logger.error({ err: error }, "cannot start: zone NATS provisioning failed");
      reportFatal(error instanceof Error ? error : new Error(String(error)));
    });

  const tlsLogger = logger.child({ component: "tls" });
  const reloadTls = (): boolean => {
    try {
      const material = loadTlsMaterial(tlsFiles);
      rpc.reloadTls(material);
      for (const link of peerLinks) link.updateTls(material);
      warnOnLoosePermissions(tlsFiles, tlsLogger);
      tlsLogger.info(
        { expiresInSeconds: Object.fromEntries(certExpirySeconds(certFiles, Date.now())) },
        "TLS material reloaded",
      );
      return true;
    } catch (error) {
      tlsLogger.error({ err: error }, "TLS reload failed; keeping the previous certificates");
      return false;
    }
  };
  const tlsWatcher = watchTlsFiles(tlsFiles, () => void reloadTls());

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      draining = true;
      logger.info({}, "draining");
      // Our own outbound long-polls and the peers' parked ones end now, so
      // neither side's shutdown waits for the other's wait_ms.
      tlsWatcher.close();
      loopsAbort.abort();
      drainAbort.abort();
      // A short notice period: probes see not-ready and clients on open
      // connections get `unavailable` before the listener sends GOAWAY.
      const notice = Math.min(1000, config.shutdown_timeout / 4);
      await new Promise((resolve) => setTimeout(resolve, notice));
      await rpc.close(config.shutdown_timeout - notice);
      await loopsRunning;
      sampler.stop();
      stopSweeps();
      fill.stop();
      await connecting;
      if (nats !== undefined)
        await nats.drain().catch((error: unknown) => logger.warn({ err: error }, "NATS drain failed"));
      await admin.close();
      logger.info({}, "stopped");
      await new Promise<void>((resolve) => logger.flush(() => resolve()));
    })();
    return stopping;
  };

  return {
    logger,
    rpcAddress,
    adminAddress,
    readiness,
    whenReady: () => ready,
    fatal,
    stop,
    reloadTls,
  };
}
