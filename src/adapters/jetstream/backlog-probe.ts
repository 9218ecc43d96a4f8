import { AckPolicy, DeliverPolicy, type JetStreamManager } from "@nats-io/jetstream";
import { type NatsConnection, nanos, nuid } from "@nats-io/transport-node";
import type { ConsumerSpec } from "../../domain/consumer-policy.js";
import { consumerSource } from "./buffer-subjects.js";
import { pull, streamSequence } from "./jetstream-fact-log.js";
import { toDomainError } from "./nats-errors.js";

export interface Backlog {
  /** Facts after the cursor that the consumer's filter admits. */
  readonly facts: number;
  /** Stored time of the oldest of them (Unix ms), undefined when there are none. */
  readonly oldestStoredAtMs: number | undefined;
  /** Offset of the oldest of them. */
  readonly oldestOffset: number | undefined;
}

/**
 * Counts what a consumer has not confirmed, straight from JetStream: a
 * throwaway consumer at cursor+1 reports the filtered pending count and its
 * first message the oldest fact's age. Computed from durable state, so the
 * numbers are right right after a restart.
 */
export async function probeBacklog(
  nc: NatsConnection,
  jsm: JetStreamManager,
  consumer: ConsumerSpec,
  cursor: number,
): Promise<Backlog> {
  const { stream, filter } = consumerSource(consumer);
  const name = `bsfg_probe_${nuid.next()}`;
  try {
    await jsm.consumers.add(stream, {
      name,
      ack_policy: AckPolicy.None,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: cursor + 1,
      filter_subject: filter,
      mem_storage: true,
      inactive_threshold: nanos(30_000),
    });
    const [first] = await pull(nc, { stream, name, after: cursor }, { batch: 1, no_wait: true }, 5000);
    if (first === undefined) return { facts: 0, oldestStoredAtMs: undefined, oldestOffset: undefined };
    const tokens = (first.reply ?? "").split(".");
    const pending = Number(tokens.length === 9 ? tokens[8] : tokens[10]);
    const nanosStored = Number(tokens.length === 9 ? tokens[7] : tokens[9]);
    return {
      facts: pending + 1,
      oldestStoredAtMs: Math.floor(nanosStored / 1e6),
      oldestOffset: streamSequence(first.reply ?? ""),
    };
  } catch (error) {
    throw toDomainError(error, "backlog probe");
  } finally {
    await jsm.consumers.delete(stream, name).catch(() => undefined);
  }
}

/**
 * Whether every fact in the consumer's stream is the consumer's: a store
 * buffer whose category is exported to this one peer only (facts may only be
 * addressed to peers that import their category).
 */
export function readsWholeStream(consumer: ConsumerSpec, all: Iterable<ConsumerSpec>): boolean {
  if (consumer.kind !== "peer") return false;
  let readers = 0;
  for (const c of all) if (c.kind === "peer" && c.category === consumer.category) readers++;
  return readers === 1;
}

/**
 * The same numbers as `probeBacklog` from the stream's own state, without
 * creating a consumer: nats-server 2.9 counts a filtered consumer's pending
 * facts by scanning every subject of the stream while it holds it (a store
 * buffer has one subject per fact: ~0.25 s at 300k facts, during which
 * appends to the category wait). Only for a consumer that `readsWholeStream`.
 * Facts leave a store buffer only from the front (age), so what follows the
 * cursor is the contiguous run up to the last sequence; undefined when the
 * first of them is missing (a hole someone cut), so the caller counts instead.
 */
export async function probeWholeStream(
  jsm: JetStreamManager,
  consumer: ConsumerSpec,
  cursor: number,
): Promise<Backlog | undefined> {
  const { stream } = consumerSource(consumer);
  try {
    const { state } = await jsm.streams.info(stream);
    const after = Math.max(cursor, state.first_seq - 1);
    if (state.messages === 0 || state.last_seq <= after)
      return { facts: 0, oldestStoredAtMs: undefined, oldestOffset: undefined };
    const oldest = await jsm.streams.getMessage(stream, { seq: after + 1 });
    if (oldest === null) return undefined;
    return {
      facts: state.last_seq - after,
      oldestStoredAtMs: oldest.time.getTime(),
      oldestOffset: oldest.seq,
    };
  } catch (error) {
    throw toDomainError(error, "backlog probe");
  }
}
