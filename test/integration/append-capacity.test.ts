import { setTimeout as delay } from "node:timers/promises";
import { Code, ConnectError } from "@connectrpc/connect";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type NatsServerHandle, startNatsServer } from "../fixtures/nats-server.js";
import {
  clientFor,
  eventually,
  type RunningTestNode,
  startTestNode,
  testConfig,
} from "../fixtures/test-node.js";
import { createTestPki, type TestPki } from "../fixtures/test-pki.js";

let nats: NatsServerHandle;
let pki: TestPki;
let running: RunningTestNode;

const fact = (messageId: string) => ({
  envelope: { messageId, fromZone: "enterprise", toZone: "plant-a", producedAtUnixMs: BigInt(Date.now()) },
  fact: { subject: `order:${messageId}`, predicate: "order_created", objectJson: '{"total": 1}' },
});

async function storedIds(): Promise<string[]> {
  const nc = await connect({ servers: nats.url });
  try {
    const jsm = await jetstreamManager(nc);
    const { state } = await jsm.streams.info("facts_operational");
    const ids: string[] = [];
    for (let seq = state.first_seq; seq <= state.last_seq && state.messages > 0; seq++) {
      const m = await jsm.streams.getMessage("facts_operational", { seq });
      if (m !== null) ids.push((m.json() as { envelope: { message_id: string } }).envelope.message_id);
    }
    return ids;
  } finally {
    await nc.close();
  }
}

async function queuedFacts(): Promise<number> {
  const text = await (await fetch(`${running.adminUrl}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith("bsfg_append_queued_facts"));
  return Number(line?.split(" ").at(-1));
}

beforeAll(async () => {
  [nats, pki] = await Promise.all([startNatsServer(), createTestPki()]);
  running = await startTestNode(
    testConfig(nats.url, pki, { limits: { max_facts_in_flight: 1 }, log_level: "warn" }),
  );
  await running.node.whenReady();
});

afterAll(async () => {
  // Never leave the server frozen, whatever failed.
  if (nats !== undefined) process.kill(nats.pid, "SIGCONT");
  await running?.node.stop();
  await nats?.stop();
});

describe("limits.max_facts_in_flight with a client that gives up", () => {
  it("drops the abandoned append from the queue: the requests behind it run and it is never stored", async () => {
    const client = clientFor(running.url, pki.ca, pki.clients.erp);
    await client.appendFact(fact("warm-up"));
    // A frozen nats-server holds the one permit in the first append's publish.
    process.kill(nats.pid, "SIGSTOP");
    let holding: Promise<string>;
    let abandoned: ConnectError | undefined;
    try {
      holding = client.appendFact(fact("holds-the-permit"), { timeoutMs: 30_000 }).then(
        () => "stored",
        (error: unknown) => ConnectError.from(error).rawMessage,
      );
      // Let it take the permit before the next request arrives.
      await delay(300);
      const gaveUp = client.appendFact(fact("gave-up"), { timeoutMs: 1500 }).then(
        () => undefined,
        (error: unknown) => ConnectError.from(error),
      );
      await eventually(async () => (await queuedFacts()) === 1, 10_000, "the second append to queue");
      abandoned = await gaveUp;
      // The node saw the deadline pass and took the request out of the queue.
      await eventually(async () => (await queuedFacts()) === 0, 10_000, "the queue to empty");
    } finally {
      process.kill(nats.pid, "SIGCONT");
    }
    expect(abandoned?.code).toBe(Code.DeadlineExceeded);
    expect(await holding).toBe("stored");
    // FIFO: had the abandoned request still been queued, it would be stored before this one.
    await client.appendFact(fact("after"));
    expect(await storedIds()).toEqual(["warm-up", "holds-the-permit", "after"]);
  });
});
