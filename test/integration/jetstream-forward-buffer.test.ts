import { DiscardPolicy, type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection, type PublishOptions } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { forwardStreamName, forwardSubject } from "../../src/adapters/jetstream/buffer-subjects.js";
import { decodeFact, decodePeerRecord, encodeFact } from "../../src/adapters/jetstream/fact-codec.js";
import { JetStreamForwardBuffer } from "../../src/adapters/jetstream/jetstream-forward-buffer.js";
import { PipelinedPublisher } from "../../src/adapters/jetstream/pipelined-publisher.js";
import { DomainError } from "../../src/domain/errors.js";
import type { StoredFact } from "../../src/domain/fact.js";
import { record } from "../fixtures/facts.js";
import { type NatsServerHandle, startNatsServer } from "../fixtures/nats-server.js";

// A forward buffer stores a batch with one acknowledged publish (the last,
// which every message before it chains to through its expected last
// sequence). These pin what that must keep: an exact prefix whatever is
// refused, the refusal's own reason, and nothing written after a stream that
// moved underfoot.

let server: NatsServerHandle;
let nc: NatsConnection;
let jsm: JetStreamManager;
let acknowledged = 0;

beforeAll(async () => {
  server = await startNatsServer();
  nc = await connect({ servers: server.url });
  jsm = await jetstreamManager(nc);
  const publish = nc.publish.bind(nc);
  nc.publish = (subject: string, payload?: Uint8Array | string, options?: PublishOptions) => {
    if (options?.reply !== undefined && subject.startsWith("forward.")) acknowledged++;
    publish(subject, payload, options);
  };
});

afterAll(async () => {
  await nc?.close();
  await server?.stop();
});

let categories = 0;
async function category(limits: { max_msgs?: number; max_msg_size?: number } = {}): Promise<string> {
  const name = `fwd${++categories}`;
  await jsm.streams.add({
    name: forwardStreamName(name),
    subjects: [`forward.${name}.>`],
    discard: DiscardPolicy.New,
    ...limits,
  });
  return name;
}

function buffer(): JetStreamForwardBuffer {
  return new JetStreamForwardBuffer({
    jetstream: () => ({ publisher: new PipelinedPublisher(nc), jsm }),
    publishTimeoutMs: 5000,
  });
}

const imported = (offset: number, objectJson = `{"n":${offset}}`): StoredFact => {
  const r = record();
  return { ...r, fact: { ...r.fact, objectJson }, offset };
};

async function storedOffsets(name: string): Promise<number[]> {
  const { state } = await jsm.streams.info(forwardStreamName(name));
  const offsets: number[] = [];
  for (let seq = state.first_seq; seq <= state.last_seq && state.messages > 0; seq++) {
    const m = await jsm.streams.getMessage(forwardStreamName(name), { seq });
    offsets.push(Number(m?.header.get("Bsfg-Source-Offset")));
  }
  return offsets;
}

async function refusal(p: Promise<unknown>): Promise<DomainError> {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DomainError);
  return error as DomainError;
}

describe("JetStreamForwardBuffer", () => {
  it("stores a batch in order with one acknowledged publish", async () => {
    const name = await category();
    const facts = Array.from({ length: 250 }, (_, i) => imported(i + 1));
    const before = acknowledged;
    await buffer().append("plant-a", name, facts);
    expect(acknowledged - before).toBe(1);
    expect(await storedOffsets(name)).toEqual(facts.map((f) => f.offset));
    expect(await buffer().highWaterMark("plant-a", name)).toBe(250);
  });

  it("stores a fact that came as a peer's record as those bytes, and any other fact in the same format", async () => {
    const name = await category();
    // Spacing and key order no encoder of ours produces: a re-encode could not give these bytes back.
    const json = JSON.parse(new TextDecoder().decode(encodeFact(record({ messageId: "as-sent" }))));
    const sent = new TextEncoder().encode(JSON.stringify({ fact: json.fact, ...json }, null, 1));
    const fromPeer = decodePeerRecord(sent, 1);
    const changed = { ...decodePeerRecord(sent, 2), offset: 2 };
    const plain = imported(3);
    await buffer().append("plant-a", name, [fromPeer, changed, plain]);
    const stored = await Promise.all(
      [1, 2, 3].map(async (seq) => (await jsm.streams.getMessage(forwardStreamName(name), { seq }))?.data),
    );
    expect(stored[0]).toEqual(sent);
    // A copy is not the decoded record: it is encoded afresh, as the same fact.
    expect(stored[1]).not.toEqual(sent);
    expect(decodeFact(stored[1] as Uint8Array)).toEqual(decodeFact(sent));
    const { offset: _, ...fields } = plain;
    expect(stored[2]).toEqual(new Uint8Array(encodeFact(fields)));
  });

  it("stores afresh, from the checked values, a peer's record whose bytes say more than the checks saw", async () => {
    const name = await category();
    const json = JSON.parse(new TextDecoder().decode(encodeFact(record({ messageId: "odd" }))));
    const text = JSON.stringify(json);
    const odd = {
      "a key beyond format v1": JSON.stringify({ ...json, source: { zone: "forged", offset: 9 } }),
      "an integer spelled with an exponent": text.replace(
        `"stored_at_unix_ms":${json.stored_at_unix_ms}`,
        `"stored_at_unix_ms":${json.stored_at_unix_ms / 1000}e3`,
      ),
      "an integer spelled with a fraction": text.replace(
        `"produced_at_unix_ms":${json.envelope.produced_at_unix_ms}`,
        `"produced_at_unix_ms":${json.envelope.produced_at_unix_ms}.0`,
      ),
    };
    const sent = Object.values(odd).map((t) => new TextEncoder().encode(t));
    // Invalid UTF-8 inside a string: decoding turns it into U+FFFD before the checks see it.
    const bytes = new TextEncoder().encode(text.replace('"order_created"', '"order_created_XX"'));
    const at = Buffer.from(bytes).indexOf("XX");
    bytes[at] = 0xff;
    bytes[at + 1] = 0xfe;
    sent.push(bytes);
    for (const b of sent.slice(0, 3)) expect(new TextDecoder().decode(b)).not.toBe(text);
    const facts = sent.map((b, i) => decodePeerRecord(b, i + 1));
    await buffer().append("plant-a", name, facts);
    for (const [i, fact] of facts.entries()) {
      const stored = (await jsm.streams.getMessage(forwardStreamName(name), { seq: i + 1 }))
        ?.data as Uint8Array;
      expect(Buffer.compare(stored, sent[i] as Uint8Array), `case ${i}`).not.toBe(0);
      const { offset: _, ...fields } = fact;
      expect(stored, `case ${i}`).toEqual(new Uint8Array(encodeFact(fields)));
    }
    expect(facts[3]?.fact.predicate).toBe("order_created_\ufffd\ufffd");
  });

  it("keeps an exact prefix of a batch the stream fills up, and says it is full", async () => {
    const name = await category({ max_msgs: 5 });
    const error = await refusal(
      buffer().append(
        "plant-a",
        name,
        [1, 2, 3, 4, 5, 6, 7, 8].map((o) => imported(o)),
      ),
    );
    expect(error.kind).toBe("back_pressure");
    expect(error.message).toMatch(/maximum messages/i);
    expect(await storedOffsets(name)).toEqual([1, 2, 3, 4, 5]);
    expect(await buffer().highWaterMark("plant-a", name)).toBe(5);
  });

  it("stops before a fact too large for the stream, and says so", async () => {
    const name = await category({ max_msg_size: 2048 });
    const facts = [1, 2, 3, 4].map((o) => imported(o, o === 3 ? `"${"x".repeat(4096)}"` : `{"n":${o}}`));
    const error = await refusal(buffer().append("plant-a", name, facts));
    expect(error.kind).toBe("too_large");
    expect(await storedOffsets(name)).toEqual([1, 2]);
  });

  it("writes nothing after a stream that moved underfoot, and the retry lands whole", async () => {
    const name = await category();
    const forward = buffer();
    await forward.append("plant-a", name, [imported(1), imported(2)]);
    // Another writer: the buffer's cached head is now stale.
    await new PipelinedPublisher(nc).publish(forwardSubject(name, "plant-b"), new Uint8Array(1), {
      headers: { "Bsfg-Source-Offset": "9" },
      timeoutMs: 5000,
    });
    const batch = [imported(3), imported(4), imported(5)];
    const error = await refusal(forward.append("plant-a", name, batch));
    expect(error.kind).toBe("unavailable");
    expect(await storedOffsets(name)).toEqual([1, 2, 9]);
    await forward.append("plant-a", name, batch);
    expect(await storedOffsets(name)).toEqual([1, 2, 9, 3, 4, 5]);
    expect(await forward.highWaterMark("plant-a", name)).toBe(5);
  });
});
