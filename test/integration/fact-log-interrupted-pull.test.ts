import { type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, expect, it } from "vitest";
import { importedRecord } from "../../src/adapters/jetstream/fact-codec.js";
import { JetStreamFactLog } from "../../src/adapters/jetstream/jetstream-fact-log.js";
import { provisionForwardBuffers } from "../../src/adapters/jetstream/provisioning.js";
import type { ConsumerSpec } from "../../src/domain/consumer-policy.js";
import { DomainError } from "../../src/domain/errors.js";
import { silentLogger } from "../../src/ports/logger.js";
import { categorySpec } from "../fixtures/category-spec.js";
import { record } from "../fixtures/facts.js";
import { type NatsServerHandle, startNatsServer } from "../fixtures/nats-server.js";
import { startTcpProxy, type TcpProxy } from "../fixtures/tcp-proxy.js";

// FetchFacts reads through an ephemeral no-ack consumer: the server counts a
// message delivered when it sends it. A NATS connection blip in the middle of
// a batch must fail that read (and never hang it, or hand out a gapped batch);
// the following reads from the same cursor must return everything again.

const spec = categorySpec("operational", { maxBytes: 256 * 1024 * 1024 });
const reader: ConsumerSpec = {
  kind: "local",
  name: "operational-reader",
  category: "operational",
  principals: new Set(["app"]),
};
const FACTS = 400;

let server: NatsServerHandle;
let proxy: TcpProxy;
let admin: NatsConnection;
let nc: NatsConnection;
let jsm: JetStreamManager;

beforeAll(async () => {
  server = await startNatsServer();
  admin = await connect({ servers: server.url });
  await provisionForwardBuffers(await jetstreamManager(admin), [spec], silentLogger);
  const js = jetstream(admin);
  // Large facts, so that one batch takes a while on the wire and a cut lands inside it.
  const big = JSON.stringify({ pad: "x".repeat(50_000) });
  for (let i = 1; i <= FACTS; i++) {
    const fact = { ...record({ messageId: `blip-${i}` }), offset: i };
    await js.publish(
      "forward.operational.enterprise",
      importedRecord({ ...fact, fact: { ...fact.fact, objectJson: big } }),
    );
  }
  proxy = await startTcpProxy(server.port);
  nc = await connect({
    servers: `nats://127.0.0.1:${proxy.port}`,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 100,
  });
  jsm = await jetstreamManager(nc);
});

afterAll(async () => {
  await nc?.close();
  await admin?.close();
  await proxy?.close();
  await server?.stop();
});

it("a read cut off in the middle of a batch fails as unavailable, and the next read returns everything", async () => {
  const log = new JetStreamFactLog(() => ({ nc, jsm }));
  // Position a reader after offset 1, so the next read reuses it.
  expect((await log.read(reader, 0, 1, 0)).map((f) => f.offset)).toEqual([1]);

  const before = proxy.bytesFromTarget;
  const started = Date.now();
  const interrupted = log.read(reader, 1, FACTS, 0).then(
    (facts) => facts,
    (error: unknown) => error,
  );
  while (proxy.bytesFromTarget < before + 1_000_000) await new Promise((r) => setTimeout(r, 1));
  proxy.cut();
  await new Promise((r) => setTimeout(r, 300));
  proxy.heal();

  const outcome = await interrupted;
  expect(outcome).toBeInstanceOf(DomainError);
  expect((outcome as DomainError).kind).toBe("unavailable");
  expect(Date.now() - started).toBeLessThan(15_000);

  // Reads are bounded by bytes too (FETCH_MAX_BYTES), so "everything" takes a few of them.
  const again: number[] = [];
  for (let after = 1; ; ) {
    const facts = await log.read(reader, after, FACTS, 0);
    if (facts.length === 0) break;
    again.push(...facts.map((f) => f.offset));
    after = facts.at(-1)?.offset ?? after;
  }
  expect(again).toEqual(Array.from({ length: FACTS - 1 }, (_, i) => i + 2));
});
