/**
 * The floors: the gateway's two node-side paths built from the same
 * dependencies the minimal way (bench/bare-service.ts), measured in the same
 * run against the substrate's servers. The ceiling rows (bench/ceilings.ts)
 * leave out the RPC; these keep it, so together they say how much of a
 * gap is the dependencies' and how much is ours.
 *
 * - `bareAppend`: AppendFacts from the gateway's load generator to the bare
 *   service, which writes each item's claim and fact (two create-if-absent
 *   JetStream writes) and nothing else.
 * - `rpcRelay`: the backlog from the origin server to a stream on the other
 *   server through FetchFacts (`stored_records`, 1000 per call) between two
 *   processes over mTLS HTTP/2: the bare service reads, this process writes.
 *   Like the gateway's receiver it reads the next batch while one is stored,
 *   reads each record's offset and bytes off the wire by hand, and publishes
 *   a batch with one acknowledgement (its last message); it parses no JSON
 *   and sets no headers.
 */
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import type { JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { FETCH_FACTS_VIEW } from "../src/adapters/connect/fetch-facts-view.js";
import { createWideWindowSessionManager } from "../src/adapters/connect/wide-window-session-manager.js";
import { PipelinedPublisher } from "../src/adapters/jetstream/pipelined-publisher.js";
import { BoundaryService } from "../src/gen/bsfg/v1/boundary_pb.js";
import { readStoredRecord } from "../src/rpc/stored-records-wire.js";
import { clientFor } from "../test/fixtures/test-node.js";
import { createTestPki, type TestPki } from "../test/fixtures/test-pki.js";
import type { RelayResult } from "./ceilings.js";
import { appendBatches } from "./gateway.js";
import { type LoadResult, type ProcessSample, RssSampler, stopChild } from "./load.js";
import { startBenchServer } from "./start-echo.js";

const BARE = fileURLToPath(new URL("./bare-service.ts", import.meta.url));
const TIMEOUT_MS = 30_000;
const RELAY_BATCH = 1000;

type Samples = Record<string, ProcessSample>;

export interface Floors {
  readonly bareAppend: LoadResult & { rss: Samples };
  readonly rpcRelay: RelayResult & { rss: Samples };
}

export async function measureFloors(options: {
  readonly origin: { readonly url: string; readonly pid: number; readonly jsm: JetStreamManager };
  /** The stream on the origin holding the backlog. */
  readonly stream: string;
  readonly target: { readonly pid: number; readonly nc: NatsConnection; readonly jsm: JetStreamManager };
  readonly messages: number;
  readonly facts: number;
  readonly batch: number;
  readonly batchConcurrency: number;
  readonly connections: number;
  readonly maxMs: number;
}): Promise<Floors> {
  const o = options;
  const pki = await createTestPki();
  const bare = await startBenchServer(BARE, [pki.ca, pki.node.cert, pki.node.key, o.origin.url, o.stream]);
  try {
    const pids = {
      "bare service": () => bare.child.pid,
      "nats-server (origin)": () => o.origin.pid,
      "bench process": () => process.pid,
    };
    let rss = new RssSampler({ ...pids, "nats-server (relay target)": () => o.target.pid });
    const relay = await relayThroughRpc(bare.url, pki, o.target, o.messages, o.maxMs);
    const rpcRelay = { ...relay, rss: rss.stop() };

    await o.origin.jsm.streams.add({ name: "BARE_INDEX", subjects: ["bare.index.>"] });
    await o.origin.jsm.streams.add({ name: "BARE_FACTS", subjects: ["bare.facts.>"] });
    const clients = Array.from({ length: o.connections }, () => clientFor(bare.url, pki.ca, pki.clients.erp));
    await appendBatches(clients, "bw", o.batch * 2, o.batch, o.batchConcurrency, TIMEOUT_MS);
    rss = new RssSampler(pids);
    const append = await appendBatches(clients, "b", o.facts, o.batch, o.batchConcurrency, o.maxMs);
    return { bareAppend: { ...append, rss: rss.stop() }, rpcRelay };
  } finally {
    await stopChild(bare.child);
  }
}

async function relayThroughRpc(
  url: string,
  pki: TestPki,
  target: { readonly nc: NatsConnection; readonly jsm: JetStreamManager },
  messages: number,
  maxMs: number,
): Promise<RelayResult> {
  await target.jsm.streams.add({ name: "RPC_RELAY", subjects: ["rpcrelay.>"] });
  const who = pki.clients["plant-a-bsfg"];
  const [ca, cert, key] = await Promise.all([readFile(pki.ca), readFile(who.cert), readFile(who.key)]);
  const transport = createConnectTransport({
    baseUrl: url,
    httpVersion: "2",
    sessionManager: createWideWindowSessionManager(url, { ca, cert, key, minVersion: "TLSv1.3" }),
  });
  const client = createClient(BoundaryService, transport);
  // Read as the node reads it: each record's two fields by hand, no message per record.
  const fetchAfter = async (after: number) => {
    const { message } = await transport.unary(FETCH_FACTS_VIEW, undefined, TIMEOUT_MS, undefined, {
      consumerName: "bare",
      limit: RELAY_BATCH,
      waitMs: 0,
      afterOffset: BigInt(after),
      storedRecords: true,
    });
    return message.records.map(readStoredRecord);
  };
  const publisher = new PipelinedPublisher(target.nc);
  // The TLS handshake and HTTP/2 session before the clock, as the ceiling's connection is: the bare
  // service leaves AppendFact out, so this call is answered `unimplemented` at once.
  await client.appendFact({}).catch(() => undefined);
  const started = performance.now();
  const deadline = started + maxMs;
  let relayed = 0;
  let fetched = fetchAfter(0);
  let acked: Promise<unknown> = Promise.resolve();
  while (relayed < messages) {
    if (performance.now() > deadline) throw new Error(`RPC relay moved ${relayed} of ${messages} in time`);
    const records = await fetched;
    const last = records.at(-1);
    if (last === undefined) throw new Error(`RPC relay found nothing after ${relayed} of ${messages}`);
    fetched = fetchAfter(last.offset);
    await acked;
    const end = records.length - 1;
    for (let i = 0; i < end; i++)
      publisher.publishUnacknowledged(`rpcrelay.${i % 16}`, (records[i] as { json: Uint8Array }).json, {});
    acked = publisher.publish(`rpcrelay.${end % 16}`, last.json, { timeoutMs: TIMEOUT_MS });
    relayed += records.length;
  }
  await acked;
  const seconds = (performance.now() - started) / 1000;
  // The read-ahead after the last batch comes back empty; it must not outlive the measurement.
  await fetched.catch(() => undefined);
  const last = (await target.jsm.streams.info("RPC_RELAY")).state.messages;
  if (last < relayed) throw new Error(`RPC relay stored ${last} of ${relayed} messages`);
  return {
    messages: relayed,
    seconds: Math.round(seconds * 1000) / 1000,
    messagesPerSecond: Math.round(relayed / seconds),
  };
}
