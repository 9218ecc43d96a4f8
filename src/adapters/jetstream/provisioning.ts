import {
  DiscardPolicy,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";
import { DomainError } from "../../domain/errors.js";
import type { Logger } from "../../ports/logger.js";
import { forwardStreamName } from "./buffer-subjects.js";
import { type CategorySpec, INDEX_STREAM, INDEX_SUBJECT_PREFIX, storeStreamName } from "./category-spec.js";
import { objectStreamName } from "./jetstream-object-store.js";
import { JsCode, jsApiCode } from "./nats-errors.js";

const DEFAULT_DUPLICATE_WINDOW_MS = 120_000;

/** The stream settings we own; anything else on an existing stream is left as the operator set it. */
type ManagedConfig = Pick<
  StreamConfig,
  | "name"
  | "subjects"
  | "retention"
  | "discard"
  | "storage"
  | "num_replicas"
  | "max_age"
  | "max_bytes"
  | "max_msgs"
  | "max_msg_size"
  | "duplicate_window"
  | "allow_direct"
>;

export function storeStreamConfig(spec: CategorySpec): ManagedConfig {
  // Index mode never sets Nats-Msg-Id, so its window only bounds server RAM for ids nobody sends.
  const windowMs = spec.duplicateWindowMs;
  return {
    name: storeStreamName(spec.name),
    subjects: [`facts.${spec.name}.>`],
    retention: RetentionPolicy.Limits,
    // ARCHITECTURE §5: a full store buffer refuses appends; it never evicts unconfirmed facts.
    discard: DiscardPolicy.New,
    storage: spec.storage === "memory" ? StorageType.Memory : StorageType.File,
    num_replicas: spec.replicas,
    max_age: nanos(spec.maxAgeMs),
    max_bytes: spec.maxBytes,
    max_msgs: spec.maxMsgs,
    max_msg_size: spec.maxMsgBytes,
    duplicate_window: nanos(spec.maxAgeMs > 0 ? Math.min(windowMs, spec.maxAgeMs) : windowMs),
    allow_direct: true,
  };
}

/**
 * The zone-wide message_id index. Its entries must live as long as the facts
 * they guard, so its max_age is the longest of the index-mode categories, and
 * it never has a size limit that could evict an entry (discard new).
 */
export function indexStreamConfig(specs: readonly CategorySpec[]): ManagedConfig | undefined {
  const indexed = specs.filter((s) => s.dedup === "index");
  if (indexed.length === 0) return undefined;
  const maxAgeMs = indexed.some((s) => s.maxAgeMs === 0) ? 0 : Math.max(...indexed.map((s) => s.maxAgeMs));
  return {
    name: INDEX_STREAM,
    subjects: [`${INDEX_SUBJECT_PREFIX}.>`],
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.New,
    storage: indexed.some((s) => s.storage === "file") ? StorageType.File : StorageType.Memory,
    num_replicas: Math.max(...indexed.map((s) => s.replicas)),
    max_age: nanos(maxAgeMs),
    max_bytes: -1,
    max_msgs: -1,
    max_msg_size: -1,
    duplicate_window: nanos(
      maxAgeMs > 0 ? Math.min(DEFAULT_DUPLICATE_WINDOW_MS, maxAgeMs) : DEFAULT_DUPLICATE_WINDOW_MS,
    ),
    allow_direct: true,
  };
}

/**
 * Every imported fact carries a Nats-Msg-Id (the link its successor in the
 * batch expects), and each costs server RAM for the duplicate window; the
 * chain only needs the stream's last id, so the window is kept short.
 */
export const FORWARD_DUPLICATE_WINDOW_MS = 1_000;

/**
 * A forward buffer: facts imported from peers, with the same age, size and
 * storage budget as the category's store buffer. Discard `new`: when full,
 * the receiver loop stops confirming and the backlog stays at the peer.
 */
export function forwardStreamConfig(spec: CategorySpec): ManagedConfig {
  return {
    ...storeStreamConfig(spec),
    name: forwardStreamName(spec.name),
    subjects: [`forward.${spec.name}.>`],
    duplicate_window: nanos(
      spec.maxAgeMs > 0 ? Math.min(FORWARD_DUPLICATE_WINDOW_MS, spec.maxAgeMs) : FORWARD_DUPLICATE_WINDOW_MS,
    ),
  };
}

/** How one artifact bucket is laid out (from config). */
export interface BucketSpec {
  readonly name: string;
  /** -1 = unlimited. */
  readonly maxBytes: number;
  readonly replicas: number;
  readonly storage: "file" | "memory";
}

/**
 * An artifact bucket: chunks under `objects.<bucket>.c.<upload>`, metadata
 * under `objects.<bucket>.m.<key>`. No max_age: objects leave only through
 * the orphan sweep, which knows which ones facts still reference.
 */
export function objectStreamConfig(spec: BucketSpec): ManagedConfig {
  return {
    name: objectStreamName(spec.name),
    subjects: [`objects.${spec.name}.>`],
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.New,
    storage: spec.storage === "memory" ? StorageType.Memory : StorageType.File,
    num_replicas: spec.replicas,
    max_age: 0,
    max_bytes: spec.maxBytes,
    max_msgs: -1,
    max_msg_size: -1,
    duplicate_window: nanos(DEFAULT_DUPLICATE_WINDOW_MS),
    allow_direct: true,
  };
}

/** Creates or updates `objects_<bucket>` for each bucket. */
export function provisionBuckets(
  jsm: JetStreamManager,
  specs: readonly BucketSpec[],
  logger: Logger,
): Promise<Map<string, ProvisionAction>> {
  return provisionStreams(jsm, specs.map(objectStreamConfig), logger);
}

export type ProvisionAction = "created" | "updated" | "unchanged";

/** Creates or updates `forward_<category>` for each category; see provisionStoreBuffers for errors. */
export function provisionForwardBuffers(
  jsm: JetStreamManager,
  specs: readonly CategorySpec[],
  logger: Logger,
): Promise<Map<string, ProvisionAction>> {
  return provisionStreams(jsm, specs.map(forwardStreamConfig), logger);
}

/**
 * Creates or updates every stream the store buffers need, idempotently.
 * Throws a DomainError (`precondition_failed`) naming the stream and the
 * server's reason when one cannot be reconciled, e.g. a storage type change.
 */
export function provisionStoreBuffers(
  jsm: JetStreamManager,
  specs: readonly CategorySpec[],
  logger: Logger,
): Promise<Map<string, ProvisionAction>> {
  const wanted = specs.map(storeStreamConfig);
  const index = indexStreamConfig(specs);
  if (index !== undefined) wanted.push(index);
  return provisionStreams(jsm, wanted, logger);
}

async function provisionStreams(
  jsm: JetStreamManager,
  wanted: readonly ManagedConfig[],
  logger: Logger,
): Promise<Map<string, ProvisionAction>> {
  const actions = new Map<string, ProvisionAction>();
  for (const config of wanted) {
    const action = await reconcile(jsm, config);
    actions.set(config.name, action);
    if (action !== "unchanged") logger.info({ stream: config.name, action }, "stream provisioned");
  }
  return actions;
}

async function reconcile(jsm: JetStreamManager, wanted: ManagedConfig): Promise<ProvisionAction> {
  try {
    let current: StreamConfig;
    try {
      current = (await jsm.streams.info(wanted.name)).config;
    } catch (error) {
      if (jsApiCode(error) !== JsCode.StreamNotFound) throw error;
      await jsm.streams.add(wanted);
      return "created";
    }
    if (differs(current, wanted)) {
      await jsm.streams.update(wanted.name, { ...current, ...wanted });
      return "updated";
    }
    return "unchanged";
  } catch (error) {
    throw new DomainError(
      "precondition_failed",
      `stream ${wanted.name} cannot be reconciled with the configuration: ${(error as Error).message}`,
      {},
      { cause: error },
    );
  }
}

function differs(current: StreamConfig, wanted: ManagedConfig): boolean {
  return (Object.keys(wanted) as Array<keyof ManagedConfig>).some(
    (key) => JSON.stringify(current[key] ?? null) !== JSON.stringify(wanted[key] ?? null),
  );
}
