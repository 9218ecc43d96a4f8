import { Counter, collectDefaultMetrics, Histogram, Registry } from "prom-client";
import type { AppendObserver } from "../ports/append-observer.js";
import type { AppendMetrics } from "../rpc/append-metrics.js";

export interface NodeMetrics {
  readonly registry: Registry;
  readonly append: AppendMetrics;
  readonly dedup: AppendObserver;
}

/** Every metric of the node on its own registry (no prom-client globals), labelled with the zone. */
export function createMetrics(zone: string): NodeMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ zone });
  collectDefaultMetrics({ register: registry });

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

  return {
    registry,
    append: {
      request: (procedure) => requests.inc({ procedure }),
      failure: (procedure, code) => failures.inc({ procedure, code }),
      latency: (procedure, seconds) => latency.observe({ procedure }, seconds),
    },
    dedup: {
      duplicate: (category) => duplicates.inc({ category }),
      conflict: (category) => conflicts.inc({ category }),
    },
  };
}
