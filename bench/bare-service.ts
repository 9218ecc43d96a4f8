/**
 * The gateway's node-side paths with only what the dependencies must do, so
 * the bench can show how far our own code is from them (bench/README.md,
 * "floor" rows). The bsfg.v1 service on the node's own mTLS HTTP/2 listener
 * (src/server/rpc-server.ts, like bench/echo-server.ts), with the node's own
 * NATS adapters, and nothing of ours in between — no validation, canonical
 * JSON, digest, envelope, JSON record, policy or metrics:
 *
 * - AppendFacts: each item read as the node reads binary requests (by hand,
 *   into the same AppendRequest), then per item the two JetStream writes of index-mode
 *   idempotency (ARCHITECTURE §5): a claim on `bare.index.<message_id>`,
 *   then the fact's JSON on `bare.facts.<message_id>`, both create-if-absent,
 *   through PipelinedPublisher; all items of a batch in flight together.
 * - FetchFacts (`stored_records`): `<stream>`'s messages as they are stored,
 *   read with the node's own `pull` (ack-none ephemeral consumer, up to
 *   `limit` per pull) and encoded as the node encodes binary answers; after
 *   a batch is handed out the next one is pulled in the background, as the
 *   node's fact log does for a backlog.
 *
 *   node --import tsx bench/bare-service.ts <ca> <cert> <key> <nats-url> <stream>
 * Prints {"port": N} on stdout once listening; exits on SIGTERM.
 */
import { create } from "@bufbuild/protobuf";
import { AckPolicy, DeliverPolicy, jetstreamManager } from "@nats-io/jetstream";
import { connect, type Msg, nanos, nuid } from "@nats-io/transport-node";
import { encodeClaim } from "../src/adapters/jetstream/fact-codec.js";
import {
  FETCH_MAX_BYTES,
  pull,
  type Reader,
  streamSequence,
} from "../src/adapters/jetstream/jetstream-fact-log.js";
import { PipelinedPublisher } from "../src/adapters/jetstream/pipelined-publisher.js";
import {
  AppendFactsResponseSchema,
  BoundaryService,
  FetchFactsResponseSchema,
} from "../src/gen/bsfg/v1/boundary_pb.js";
import { APPEND_FACTS_VIEW } from "../src/rpc/append-facts-view.js";
import { readAppendRequest } from "../src/rpc/append-request-wire.js";
import { resultsAsUnknownFields } from "../src/rpc/append-results-wire.js";
import type { NodeRouter } from "../src/rpc/routes.js";
import { recordsAsUnknownFields } from "../src/rpc/stored-records-wire.js";
import { serveBenchRoutes } from "./serve-bench-routes.js";

const [ca, cert, key, natsUrl, stream] = process.argv.slice(2);
if (
  ca === undefined ||
  cert === undefined ||
  key === undefined ||
  natsUrl === undefined ||
  stream === undefined
) {
  console.error("usage: bare-service.ts <ca> <cert> <key> <nats-url> <stream>");
  process.exit(2);
}

const TIMEOUT_MS = 30_000;
const nc = await connect({ servers: natsUrl });
const jsm = await jetstreamManager(nc);
const publisher = new PipelinedPublisher(nc);
const claim = encodeClaim({ digest: `sha256:${"0".repeat(64)}`, category: "operational", subject: "x" });
const createIfAbsent = { expectLastSubjectSequence: 0, timeoutMs: TIMEOUT_MS };

/** One read position; a request that does not continue from the last batch handed out starts a new one. */
let reader: Reader | undefined;
let handedOut = -1;
let next: Promise<Msg[]> | undefined;

async function readerAfter(after: number): Promise<Reader> {
  if (reader !== undefined) await jsm.consumers.delete(stream as string, reader.name).catch(() => undefined);
  const info = await jsm.consumers.add(stream as string, {
    name: `bare_${nuid.next()}`,
    ack_policy: AckPolicy.None,
    ...(after === 0
      ? { deliver_policy: DeliverPolicy.All }
      : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: after + 1 }),
    mem_storage: true,
    inactive_threshold: nanos(60_000),
  });
  return { name: info.name, stream: stream as string, after, delivered: 0 };
}

const pullBatch = (from: Reader, limit: number): Promise<Msg[]> =>
  pull(nc, from, { batch: limit, no_wait: true, max_bytes: FETCH_MAX_BYTES }, TIMEOUT_MS);

/** The two create-if-absent writes of one item; its stream sequence. */
async function storeItem(id: string, objectJson: string): Promise<number> {
  await publisher.publish(`bare.index.${id}`, claim, createIfAbsent);
  const ack = await publisher.publish(`bare.facts.${id}`, Buffer.from(objectJson, "utf8"), createIfAbsent);
  return ack.seq;
}

const stored = (offset: number) => ({ offset, category: "operational", duplicate: false });

const routes = (router: NodeRouter): void => {
  // Binary requests are read and answered as the node reads and answers them
  // (src/rpc/append-request-wire.ts, append-results-wire.ts).
  router.binaryView(APPEND_FACTS_VIEW, async (req) => {
    const items = req.items.map((item) => readAppendRequest(item));
    const offsets = await Promise.all(
      items.map((item) => storeItem(item.envelope?.messageId ?? "", item.fact?.objectJson ?? "")),
    );
    const res = create(AppendFactsResponseSchema);
    res.$unknown = resultsAsUnknownFields(offsets.map(stored));
    return res;
  });
  router.service(BoundaryService, {
    async appendFacts(req) {
      const results = await Promise.all(
        req.items.map(async (item) => {
          const seq = await storeItem(item.envelope?.messageId ?? "", item.fact?.objectJson ?? "");
          const value = { ...stored(seq), offset: BigInt(seq) };
          return { outcome: { case: "ok" as const, value } };
        }),
      );
      return { results };
    },
    async fetchFacts(req) {
      const after = Number(req.afterOffset ?? 0n);
      const limit = req.limit || 1000;
      if (reader === undefined || after !== handedOut) {
        reader = await readerAfter(after);
        next = undefined;
      }
      const msgs = await (next ?? pullBatch(reader, limit));
      next = msgs.length === limit ? pullBatch(reader, limit) : undefined;
      // A failed background pull is the next request's failure, never an unhandled rejection.
      next?.catch(() => undefined);
      const records = msgs.map((m) => ({ offset: streamSequence(m.reply ?? ""), bytes: m.data }));
      handedOut = records.at(-1)?.offset ?? after;
      // Encoded as the node encodes its binary answers (src/rpc/stored-records-wire.ts).
      const res = create(FetchFactsResponseSchema, { cursor: 0n });
      res.$unknown = recordsAsUnknownFields(records);
      return res;
    },
  });
};

await serveBenchRoutes({ ca, cert, key }, routes, () => nc.close());
