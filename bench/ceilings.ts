/**
 * What the NATS client alone can do for the two storage paths the gateway
 * must take (ARCHITECTURE §5), with the gateway's own NATS adapters and
 * nothing else — no RPC, no validation, no digest, no JSON:
 *
 * - `pairs`: per fact, an index claim then the fact, each create-if-absent
 *   on its own subject (what an index-mode append writes), many in flight.
 *   The ceiling for AppendFacts.
 * - `relay`: read a stored backlog from one server (ephemeral ack-none pull
 *   consumer, 1000 per pull) and write every message into a stream on another
 *   server, acknowledged (what a drain must do, one JetStream message per
 *   fact). The ceiling for the cross-zone drain.
 *
 * Both run in the bench process against the servers the substrate phase
 * started, so their rates compare with raw publish and the mirror of the same
 * run.
 */
import { AckPolicy, DeliverPolicy, type JetStreamManager } from "@nats-io/jetstream";
import { type NatsConnection, nanos, nuid } from "@nats-io/transport-node";
import { encodeClaim } from "../src/adapters/jetstream/fact-codec.js";
import { FETCH_MAX_BYTES, pull, type Reader } from "../src/adapters/jetstream/jetstream-fact-log.js";
import { PipelinedPublisher } from "../src/adapters/jetstream/pipelined-publisher.js";
import { drive, type LoadResult, objectJson } from "./load.js";

const PUBLISH_TIMEOUT_MS = 30_000;

export async function measurePairs(options: {
  readonly nc: NatsConnection;
  readonly jsm: JetStreamManager;
  readonly facts: number;
  readonly inFlight: number;
  readonly maxMs: number;
}): Promise<LoadResult> {
  const { nc, jsm } = options;
  await jsm.streams.add({ name: "PAIR_INDEX", subjects: ["pair.index.>"] });
  await jsm.streams.add({ name: "PAIR_FACTS", subjects: ["pair.facts.>"] });
  const publisher = new PipelinedPublisher(nc);
  const encoder = new TextEncoder();
  const payloads = Array.from({ length: 1024 }, (_, i) => encoder.encode(objectJson(i)));
  const claim = encodeClaim({ digest: `sha256:${"0".repeat(64)}`, category: "operational", subject: "x" });
  const createIfAbsent = { expectLastSubjectSequence: 0, timeoutMs: PUBLISH_TIMEOUT_MS };
  return drive({
    total: options.facts,
    concurrency: options.inFlight,
    maxMs: options.maxMs,
    call: async (i) => {
      await publisher.publish(`pair.index.m${i}`, claim, createIfAbsent);
      await publisher.publish(
        `pair.facts.plant-a.order.m${i}`,
        payloads[i % 1024] as Uint8Array,
        createIfAbsent,
      );
      return 1;
    },
  });
}

export interface RelayResult {
  readonly messages: number;
  readonly seconds: number;
  readonly messagesPerSecond: number;
}

export async function measureRelay(options: {
  readonly from: { readonly nc: NatsConnection; readonly jsm: JetStreamManager; readonly stream: string };
  readonly to: { readonly nc: NatsConnection; readonly jsm: JetStreamManager };
  readonly messages: number;
  readonly maxMs: number;
}): Promise<RelayResult> {
  const { from, to } = options;
  await to.jsm.streams.add({ name: "RELAY", subjects: ["relay.>"] });
  const info = await from.jsm.consumers.add(from.stream, {
    name: `relay_${nuid.next()}`,
    ack_policy: AckPolicy.None,
    deliver_policy: DeliverPolicy.All,
    mem_storage: true,
    inactive_threshold: nanos(60_000),
  });
  const reader: Reader = { name: info.name, stream: from.stream, after: 0, delivered: 0 };
  const publisher = new PipelinedPublisher(to.nc);
  const started = performance.now();
  const deadline = started + options.maxMs;
  let relayed = 0;
  // One batch's acknowledgements are awaited while the next batch is read.
  let acks: Promise<unknown> = Promise.resolve();
  while (relayed < options.messages) {
    if (performance.now() > deadline)
      throw new Error(`relay moved ${relayed} of ${options.messages} in time`);
    const msgs = await pull(
      from.nc,
      reader,
      { batch: 1000, no_wait: true, max_bytes: FETCH_MAX_BYTES },
      PUBLISH_TIMEOUT_MS,
    );
    if (msgs.length === 0) throw new Error(`relay found nothing after ${relayed} of ${options.messages}`);
    await acks;
    acks = Promise.all(
      msgs.map((m, i) =>
        publisher.publish(`relay.${(relayed + i) % 16}`, m.data, { timeoutMs: PUBLISH_TIMEOUT_MS }),
      ),
    );
    relayed += msgs.length;
  }
  await acks;
  const seconds = (performance.now() - started) / 1000;
  await from.jsm.consumers.delete(from.stream, info.name).catch(() => undefined);
  return {
    messages: relayed,
    seconds: Math.round(seconds * 1000) / 1000,
    messagesPerSecond: Math.round(relayed / seconds),
  };
}
