import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { ConsumerSpec } from "../domain/consumer-policy.js";
import type { GateState } from "../domain/gate.js";
import type { AppendObserver } from "../ports/append-observer.js";
import type { ConsumerObserver } from "../ports/consumer-observer.js";
import type { LoopObserver } from "../ports/loop-observer.js";
import type { AppendMetrics } from "../rpc/append-metrics.js";

export interface NodeMetrics {
  readonly registry: Registry;
  readonly append: AppendMetrics;
  readonly dedup: AppendObserver;
  readonly consumers: ConsumerObserver;
  readonly loops: LoopObserver;
  /** Records a sample of one consumer's durable cursor and backlog. */
  backlog(consumer: string, cursor: number, facts: number, oldestAgeSeconds: number): void;
  /** Retention headroom and alarms of one consumer (see HandoffHealth). */
  health(consumer: string, headroomSeconds: number, retentionAlarm: boolean, stalled: boolean): void;
  /** The JetStream account view (seed metrics). */
  jetstream(view: { streams: number; consumers: number; storeBytes: number; ackPending: number }): void;
  /** Artifact bytes moved and transfers finished, by direction (put, get, import). */
  artifact(direction: "put" | "get" | "import", bytes: number, outcome: "ok" | "failed"): void;
}

export interface MetricSources {
  readonly fillPercent: (category: string) => number;
  readonly categories: readonly string[];
  /** Seconds until each certificate in use expires, by name. */
  readonly certExpirySeconds: () => ReadonlyMap<string, number>;
}

const GATE_STATES: readonly GateState[] = ["closed", "reconciling", "open"];

/** Every metric of the node on its own registry (no prom-client globals), labelled with the zone. */
export function createMetrics(
  zone: string,
  consumerSpecs: ReadonlyMap<string, ConsumerSpec> = new Map(),
  sources: MetricSources = { fillPercent: () => 0, categories: [], certExpirySeconds: () => new Map() },
): NodeMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ zone });
  collectDefaultMetrics({ register: registry });
  // prom-client names these gauges *_total, which `promtool check metrics` rejects; RSS, heap,
  // event-loop lag and GC metrics remain.
  for (const name of [
    "nodejs_active_handles_total",
    "nodejs_active_requests_total",
    "nodejs_active_resources_total",
  ]) {
    registry.removeSingleMetric(name);
  }

  const requests = new Counter({
    name: "bsfg_append_requests_total",
    help: "Facts submitted for append (a batch of n counts n), by procedure.",
    labelNames: ["procedure"] as const,
    registers: [registry],
  });
  const failures = new Counter({
    name: "bsfg_append_failures_total",
    help: "Facts refused, by procedure and Connect code.",
    labelNames: ["procedure", "code"] as const,
    registers: [registry],
  });
  const appendQueued = new Gauge({
    name: "bsfg_append_queued_facts",
    help: "Facts of appends waiting for room under limits.max_facts_in_flight.",
    registers: [registry],
  });
  const latency = new Histogram({
    name: "bsfg_append_latency_seconds",
    help: "Wall time of AppendFact/AppendFacts RPCs, from request to durable acknowledgement.",
    labelNames: ["procedure"] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const duplicates = new Counter({
    name: "bsfg_dedup_duplicates_total",
    help: "Appends answered with the original offset because the same message_id and content were already stored.",
    labelNames: ["category"] as const,
    registers: [registry],
  });
  const conflicts = new Counter({
    name: "bsfg_dedup_conflicts_total",
    help: "Appends refused because their message_id was already used for different content.",
    labelNames: ["category"] as const,
    registers: [registry],
  });

  const consumerLabels = (consumer: string) => {
    const spec = consumerSpecs.get(consumer);
    return { consumer, category: spec?.category ?? "", peer: spec?.kind === "peer" ? spec.peerZone : "" };
  };
  const consumerLabelNames = ["consumer", "category", "peer"] as const;
  const fetches = new Counter({
    name: "bsfg_fetch_requests_total",
    help: "FetchFacts requests served, by consumer.",
    labelNames: consumerLabelNames,
    registers: [registry],
  });
  const confirms = new Counter({
    name: "bsfg_confirm_requests_total",
    help: "ConfirmReceipt requests served, by consumer.",
    labelNames: consumerLabelNames,
    registers: [registry],
  });
  const frontier = new Gauge({
    name: "bsfg_frontier_offset",
    help: "Confirmed cursor of each consumer (for peer consumers: the handoff frontier).",
    labelNames: consumerLabelNames,
    registers: [registry],
  });
  const backlogFacts = new Gauge({
    name: "bsfg_backlog_facts",
    help: "Facts after the consumer's confirmed cursor that it has yet to confirm.",
    labelNames: consumerLabelNames,
    registers: [registry],
  });
  const backlogAge = new Gauge({
    name: "bsfg_backlog_oldest_age_seconds",
    help: "Age of the oldest unconfirmed fact of the consumer (0 when none).",
    labelNames: consumerLabelNames,
    registers: [registry],
  });
  const gate = new Gauge({
    name: "bsfg_gate_state",
    help: "Gate of each peer: 1 for the current state (closed, reconciling, open), 0 for the others.",
    labelNames: ["peer", "state"] as const,
    registers: [registry],
  });
  const lag = new Gauge({
    name: "bsfg_replication_lag_seconds",
    help: "Age of the last fact imported while a backlog remains at the peer; 0 when caught up.",
    labelNames: ["peer", "category"] as const,
    registers: [registry],
  });
  const highWater = new Gauge({
    name: "bsfg_replication_lag_high_watermark",
    help: "Highest source offset imported from the peer into the forward buffer (durable import high-water mark).",
    labelNames: ["peer", "category"] as const,
    registers: [registry],
  });
  const headroom = new Gauge({
    name: "bsfg_retention_headroom_seconds",
    help: "Time left before the consumer's oldest unconfirmed fact reaches its category's max_age (no backlog: the full max_age; +Inf: kept forever).",
    labelNames: consumerLabelNames,
    registers: [registry],
  });
  const retentionAlarm = new Gauge({
    name: "bsfg_retention_alarm",
    help: "1 when an unconfirmed fact of the consumer will reach max_age within alarms.retention_horizon.",
    labelNames: consumerLabelNames,
    registers: [registry],
  });
  const stalledGauge = new Gauge({
    name: "bsfg_handoff_stalled",
    help: "1 when the consumer has a backlog but its cursor has not moved for alarms.stall_after.",
    labelNames: consumerLabelNames,
    registers: [registry],
  });
  new Gauge({
    name: "bsfg_store_buffer_fill_percent",
    help: "Fill of each store buffer against its size budget (max_bytes / max_msgs), sampled every second.",
    labelNames: ["category"] as const,
    registers: [registry],
    collect() {
      for (const category of sources.categories) this.set({ category }, sources.fillPercent(category));
    },
  });
  new Gauge({
    name: "bsfg_cert_expiry_seconds",
    help: "Seconds until each certificate the node uses expires (negative: expired).",
    labelNames: ["cert"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [cert, seconds] of sources.certExpirySeconds()) this.set({ cert }, seconds);
    },
  });
  const jsStreams = new Gauge({
    name: "js_num_streams",
    help: "JetStream streams in the node's account.",
    registers: [registry],
  });
  const jsConsumers = new Gauge({
    name: "js_num_consumers",
    help: "JetStream consumers in the node's account.",
    registers: [registry],
  });
  const jsStoreBytes = new Gauge({
    name: "js_store_bytes",
    help: "JetStream file and memory storage used by the node's account, in bytes.",
    registers: [registry],
  });
  const jsAckPending = new Gauge({
    name: "js_consumer_ack_pending",
    help: "Messages delivered but not acknowledged, summed over the consumers of the node's streams.",
    registers: [registry],
  });
  const artifactBytes = new Counter({
    name: "bsfg_artifact_bytes_total",
    help: "Artifact bytes moved: put (uploads), get (downloads), import (copied from peers).",
    labelNames: ["direction"] as const,
    registers: [registry],
  });
  const artifactTransfers = new Counter({
    name: "bsfg_artifact_transfers_total",
    help: "Artifact transfers finished, by direction and outcome.",
    labelNames: ["direction", "outcome"] as const,
    registers: [registry],
  });
  for (const name of consumerSpecs.keys()) {
    fetches.inc(consumerLabels(name), 0);
    confirms.inc(consumerLabels(name), 0);
  }

  return {
    registry,
    consumers: {
      fetched: (consumer) => fetches.inc(consumerLabels(consumer)),
      confirmed: (consumer, cursor) => {
        confirms.inc(consumerLabels(consumer));
        frontier.set(consumerLabels(consumer), cursor);
      },
    },
    loops: {
      gate: (peer, state) => {
        for (const s of GATE_STATES) gate.set({ peer, state: s }, s === state ? 1 : 0);
      },
      progress: (peer, category, hwm, lagSeconds) => {
        lag.set({ peer, category }, lagSeconds);
        highWater.set({ peer, category }, hwm);
      },
    },
    health: (consumer, headroomSeconds, alarm, stalled) => {
      headroom.set(consumerLabels(consumer), headroomSeconds);
      retentionAlarm.set(consumerLabels(consumer), alarm ? 1 : 0);
      stalledGauge.set(consumerLabels(consumer), stalled ? 1 : 0);
    },
    jetstream: (view) => {
      jsStreams.set(view.streams);
      jsConsumers.set(view.consumers);
      jsStoreBytes.set(view.storeBytes);
      jsAckPending.set(view.ackPending);
    },
    artifact: (direction, bytes, outcome) => {
      artifactBytes.inc({ direction }, bytes);
      artifactTransfers.inc({ direction, outcome });
    },
    backlog: (consumer, cursor, facts, oldestAgeSeconds) => {
      frontier.set(consumerLabels(consumer), cursor);
      backlogFacts.set(consumerLabels(consumer), facts);
      backlogAge.set(consumerLabels(consumer), oldestAgeSeconds);
    },
    append: {
      request: (procedure, facts) => requests.inc({ procedure }, facts),
      failure: (procedure, code, facts) => failures.inc({ procedure, code }, facts),
      latency: (procedure, seconds) => latency.observe({ procedure }, seconds),
    },
    dedup: {
      duplicate: (category) => duplicates.inc({ category }),
      conflict: (category) => conflicts.inc({ category }),
      queued: (facts) => appendQueued.set(facts),
    },
  };
}
