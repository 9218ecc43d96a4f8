import { type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JsCode, jsApiCode, toDomainError } from "../../src/adapters/jetstream/nats-errors.js";
import { PipelinedPublisher } from "../../src/adapters/jetstream/pipelined-publisher.js";
import { type NatsServerHandle, startNatsServer } from "../fixtures/nats-server.js";

// The publisher replaces js.publish on the fact paths; these pin the
// acknowledgement and error semantics the store and forward buffers rely on.

let server: NatsServerHandle;
let nc: NatsConnection;
let jsm: JetStreamManager;
const bytes = new TextEncoder().encode("x".repeat(300));

beforeAll(async () => {
  server = await startNatsServer();
  nc = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: "P", subjects: ["p.>"], duplicate_window: 60_000_000_000 });
});

afterAll(async () => {
  await nc?.close();
  await server?.stop();
});

async function outcome(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => "ok",
    (e: unknown) => toDomainError(e, "test").kind,
  );
}

describe("PipelinedPublisher", () => {
  it("acknowledges thousands in flight with their own stream sequences, in publish order", async () => {
    const publisher = new PipelinedPublisher(nc);
    const before = (await jsm.streams.info("P")).state.last_seq;
    const acks = await Promise.all(
      Array.from({ length: 3000 }, () => publisher.publish("p.order", bytes, { timeoutMs: 5000 })),
    );
    expect(acks.map((a) => a.seq)).toEqual(Array.from({ length: 3000 }, (_, i) => before + i + 1));
    expect(acks.every((a) => a.stream === "P" && !a.duplicate)).toBe(true);
  });

  it("applies the expectation headers: last sequence, create-if-absent per subject, msg id dedup", async () => {
    const publisher = new PipelinedPublisher(nc);
    const last = (await jsm.streams.info("P")).state.last_seq;
    await expect(
      publisher.publish("p.seq", bytes, { expectLastSequence: last, timeoutMs: 5000 }),
    ).resolves.toMatchObject({ seq: last + 1 });
    const wrong = await publisher
      .publish("p.seq", bytes, { expectLastSequence: last, timeoutMs: 5000 })
      .catch((e: unknown) => e);
    expect(jsApiCode(wrong)).toBe(JsCode.WrongLastSequence);

    const first = await publisher.publish("p.once", bytes, { expectLastSubjectSequence: 0, timeoutMs: 5000 });
    const again = await publisher
      .publish("p.once", bytes, { expectLastSubjectSequence: 0, timeoutMs: 5000 })
      .catch((e: unknown) => e);
    expect(jsApiCode(again)).toBe(JsCode.WrongLastSequence);
    expect((await jsm.streams.getMessage("P", { last_by_subj: "p.once" }))?.seq).toBe(first.seq);

    const a = await publisher.publish("p.id", bytes, { msgId: "m-1", timeoutMs: 5000 });
    const b = await publisher.publish("p.id", bytes, { msgId: "m-1", timeoutMs: 5000 });
    expect(b).toMatchObject({ seq: a.seq, duplicate: true });
  });

  it("stores the caller's headers beside the expectation headers, and refuses a value with CR or LF", async () => {
    const publisher = new PipelinedPublisher(nc);
    const ack = await publisher.publish("p.hdr", bytes, {
      headers: { "Bsfg-Source-Zone": "plant-a", "Bsfg-Source-Offset": "42" },
      expectLastSubjectSequence: 0,
      timeoutMs: 5000,
    });
    const stored = await jsm.streams.getMessage("P", { seq: ack.seq });
    expect(stored?.header.get("Bsfg-Source-Zone")).toBe("plant-a");
    expect(stored?.header.get("Bsfg-Source-Offset")).toBe("42");
    expect(stored?.header.get("Nats-Expected-Last-Subject-Sequence")).toBe("0");
    expect(stored?.data).toEqual(bytes);
    expect(() =>
      publisher.publish("p.hdr", bytes, { headers: { "Bsfg-X": "a\r\nNats-Msg-Id: x" }, timeoutMs: 5000 }),
    ).toThrow(/CR or LF/);
  });

  it("fails a subject no stream captures as unavailable (no responders), not as a timeout", async () => {
    const publisher = new PipelinedPublisher(nc);
    expect(await outcome(publisher.publish("nowhere.at.all", bytes, { timeoutMs: 30_000 }))).toBe(
      "unavailable",
    );
  });

  it("times out what the server never acknowledges, and works again once it is back", async () => {
    const publisher = new PipelinedPublisher(nc);
    await server.kill();
    try {
      // Buffered by nats.js while reconnecting; the server that would ack is gone.
      const pending = Array.from({ length: 50 }, () =>
        outcome(publisher.publish("p.lost", bytes, { timeoutMs: 300 })),
      );
      expect(new Set(await Promise.all(pending))).toEqual(new Set(["unavailable"]));
    } finally {
      await server.restart();
    }
    for (;;) {
      const ok = await outcome(publisher.publish("p.back", bytes, { timeoutMs: 1000 }));
      if (ok === "ok") break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await expect(publisher.publish("p.back", bytes, { timeoutMs: 5000 })).resolves.toMatchObject({
      stream: "P",
    });
  });

  it("sends publishes made in separate microtask checkpoints of one event-loop turn together, in order", async () => {
    const own = await connect({ servers: server.url });
    try {
      const publisher = new PipelinedPublisher(own);
      const sent: string[] = [];
      const publish = own.publish.bind(own);
      own.publish = (subject, data, options) => {
        sent.push(subject);
        publish(subject, data, options);
      };
      // Each HTTP/2 stream's request resumes in a checkpoint of its own, like these.
      const acks: Array<Promise<unknown>> = [];
      for (let i = 0; i < 5; i++) {
        acks.push(publisher.publish(`p.turn.${i}`, bytes, { timeoutMs: 5000 }));
        await Promise.resolve();
      }
      expect(sent).toEqual([]);
      await new Promise((resolve) => setImmediate(resolve));
      expect(sent).toEqual(["p.turn.0", "p.turn.1", "p.turn.2", "p.turn.3", "p.turn.4"]);
      const seqs = ((await Promise.all(acks)) as Array<{ seq: number }>).map((a) => a.seq);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    } finally {
      await own.close();
    }
  });

  it("rejects everything in flight when the connection closes", async () => {
    const own = await connect({ servers: server.url });
    const publisher = new PipelinedPublisher(own);
    const inFlight = Array.from({ length: 200 }, () =>
      outcome(publisher.publish("p.closing", bytes, { timeoutMs: 60_000 })),
    );
    await own.close();
    const outcomes = await Promise.all(inFlight);
    // Some may have been acknowledged before the close; none hangs.
    expect(outcomes.every((o) => o === "ok" || o === "unavailable")).toBe(true);
  });
});
