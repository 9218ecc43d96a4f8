import { setTimeout as delay } from "node:timers/promises";
import { Code, ConnectError } from "@connectrpc/connect";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { afterAll, describe, expect, it } from "vitest";
import { clientFor, eventually } from "../fixtures/test-node.js";
import { useTestNode } from "../fixtures/use-test-node.js";

const t = useTestNode({ limits: { max_facts_in_flight: 1 }, log_level: "warn" });

const fact = (messageId: string) => ({
  envelope: { messageId, fromZone: "enterprise", toZone: "plant-a", producedAtUnixMs: BigInt(Date.now()) },
  fact: { subject: `order:${messageId}`, predicate: "order_created", objectJson: '{"total": 1}' },
});

async function storedIds(): Promise<string[]> {
  const nc = await connect({ servers: t.nats.url });
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
  const text = await (await fetch(`${t.running.adminUrl}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith("bsfg_append_queued_facts"));
  return Number(line?.split(" ").at(-1));
}

afterAll(() => {
  // Never leave the server frozen, whatever failed (this runs before the fixture stops it).
  if (t.nats !== undefined) process.kill(t.nats.pid, "SIGCONT");
});

describe("limits.max_facts_in_flight with a client that gives up", () => {
  // A deadline is seen by the node itself (connect-timeout-ms); a cancel only as the
  // client's RST_STREAM, which must reach the handler through the request's signal.
  it.each(["deadline", "cancel"] as const)(
    "drops the abandoned append from the queue (%s): the requests behind it run and it is never stored",
    async (how) => {
      const client = clientFor(t.running.url, t.pki.ca, t.pki.clients.erp);
      await client.appendFact(fact(`${how}-warm-up`));
      // A frozen nats-server holds the one permit in the first append's publish.
      process.kill(t.nats.pid, "SIGSTOP");
      let holding: Promise<string>;
      let abandoned: ConnectError | undefined;
      try {
        holding = client.appendFact(fact(`${how}-holds-the-permit`), { timeoutMs: 30_000 }).then(
          () => "stored",
          (error: unknown) => ConnectError.from(error).rawMessage,
        );
        // Let it take the permit before the next request arrives.
        await delay(300);
        const cancel = new AbortController();
        const options = how === "deadline" ? { timeoutMs: 1500 } : { signal: cancel.signal };
        const gaveUp = client.appendFact(fact(`${how}-gave-up`), options).then(
          () => undefined,
          (error: unknown) => ConnectError.from(error),
        );
        await eventually(async () => (await queuedFacts()) === 1, 10_000, "the second append to queue");
        cancel.abort();
        abandoned = await gaveUp;
        // The node saw the client give up and took the request out of the queue.
        await eventually(async () => (await queuedFacts()) === 0, 10_000, "the queue to empty");
      } finally {
        process.kill(t.nats.pid, "SIGCONT");
      }
      expect(abandoned?.code).toBe(how === "deadline" ? Code.DeadlineExceeded : Code.Canceled);
      expect(await holding).toBe("stored");
      // FIFO: had the abandoned request still been queued, it would be stored before this one.
      await client.appendFact(fact(`${how}-after`));
      expect((await storedIds()).filter((id) => id.startsWith(`${how}-`))).toEqual([
        `${how}-warm-up`,
        `${how}-holds-the-permit`,
        `${how}-after`,
      ]);
    },
  );
});
