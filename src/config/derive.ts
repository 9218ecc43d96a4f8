import type { CategorySpec } from "../adapters/jetstream/category-spec.js";
import type { BucketSpec } from "../adapters/jetstream/provisioning.js";
import { type ConsumerSpec, peerConsumerName } from "../domain/consumer-policy.js";
import type { FactLimits } from "../domain/fact-validation.js";
import type { ZonePolicy } from "../domain/zone-policy.js";
import type { RpcLimits } from "../server/rpc-limits.js";
import type { BucketPolicy } from "../use-cases/artifacts.js";
import type { Config } from "./schema.js";

export function zonePolicyOf(config: Config): ZonePolicy {
  return {
    zone: config.zone,
    categories: new Set(Object.keys(config.categories)),
    defaultCategory: config.default_category,
    categoryRules: new Map(Object.entries(config.category_rules)),
    peers: new Map(
      Object.entries(config.peers).map(([zone, p]) => [
        zone,
        { zone, identity: p.identity, exports: new Set(p.export), imports: new Set(p.import) },
      ]),
    ),
    principals: new Map(
      Object.entries(config.principals).map(([name, p]) => [name, { append: new Set(p.append) }]),
    ),
  };
}

export function categorySpecsOf(config: Config): CategorySpec[] {
  return Object.entries(config.categories).map(([name, c]) => ({
    name,
    maxAgeMs: c.max_age,
    maxBytes: c.max_bytes,
    maxMsgs: c.max_msgs,
    maxMsgBytes: c.max_fact_bytes + 16 * 1024,
    replicas: c.replicas,
    storage: c.storage,
    dedup: c.dedup,
    duplicateWindowMs: c.duplicate_window,
  }));
}

/** One limit for object_json across categories: the largest category's, so validation can run before routing. */
export function factLimitsOf(
  config: Config,
): FactLimits & { maxBatchItems: number; maxFactsInFlight: number } {
  return {
    maxObjectJsonBytes: Math.max(...Object.values(config.categories).map((c) => c.max_fact_bytes)),
    maxJsonDepth: config.limits.max_json_depth,
    maxLabels: config.limits.max_labels,
    maxBatchItems: config.limits.max_batch_items,
    maxFactsInFlight: config.limits.max_facts_in_flight,
  };
}

/** Local consumers from config, plus one store-buffer consumer per (peer, exported category). */
export function consumerSpecsOf(config: Config): Map<string, ConsumerSpec> {
  const specs = new Map<string, ConsumerSpec>();
  for (const [name, c] of Object.entries(config.consumers)) {
    specs.set(name, {
      kind: "local",
      name,
      category: c.category,
      principals: new Set(c.principals),
      ...(c.from_zone !== undefined && { fromZone: c.from_zone }),
    });
  }
  for (const [zone, peer] of Object.entries(config.peers)) {
    for (const category of peer.export) {
      const name = peerConsumerName(zone, category);
      specs.set(name, { kind: "peer", name, category, peerZone: zone, peerIdentity: peer.identity });
    }
  }
  return specs;
}

export function bucketSpecsOf(config: Config): BucketSpec[] {
  return Object.entries(config.buckets).map(([name, b]) => ({
    name,
    maxBytes: b.max_bytes,
    replicas: b.replicas,
    storage: b.storage,
  }));
}

/** Who may put and get per bucket: principals by their lists, peer nodes may get (to copy referenced artifacts). */
export function bucketPoliciesOf(config: Config): Map<string, BucketPolicy> {
  const holders = (action: "put" | "get", bucket: string) =>
    Object.entries(config.principals)
      .filter(([, p]) => p[action].includes(bucket) || p[action].includes("*"))
      .map(([name]) => name);
  return new Map(
    Object.entries(config.buckets).map(([name, b]) => [
      name,
      {
        maxObjectBytes: b.max_object_bytes,
        put: new Set(holders("put", name)),
        get: new Set([
          ...holders("get", name),
          ...Object.values(config.peers)
            .filter((peer) => peer.buckets === undefined || peer.buckets.includes(name))
            .map((peer) => peer.identity),
        ]),
      },
    ]),
  );
}

/** What one client may cost the RPC listener. */
export function rpcLimitsOf(config: Config): RpcLimits {
  const l = config.limits;
  return {
    maxRequestBytes: l.max_request_bytes,
    maxHeaderBytes: l.max_header_bytes,
    maxConcurrentStreams: l.max_concurrent_streams,
    maxSessionMemoryBytes: l.max_session_memory,
    maxConnections: l.max_connections,
    maxInflightRequests: l.max_inflight_requests,
    maxInflightRequestBytes: l.max_inflight_request_bytes,
    handshakeTimeoutMs: l.handshake_timeout,
    idleTimeoutMs: l.idle_timeout,
    requestIdleTimeoutMs: l.request_idle_timeout,
    requestTimeoutMs: l.request_timeout,
  };
}
