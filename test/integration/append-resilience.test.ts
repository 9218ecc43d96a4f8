import { Code, ConnectError } from "@connectrpc/connect";
import { jetstreamManager, StorageType } from "@nats-io/jetstream";
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

let pki: TestPki;
beforeAll(async () => {
  pki = await createTestPki();
});

const fact = (messageId: string, objectJson = '{"n": 1}') => ({
  envelope: { messageId, fromZone: "enterprise", toZone: "plant-a", producedAtUnixMs: BigInt(Date.now()) },
  fact: { subject: "order:ENT-1", predicate: "order_created", objectJson },
});

async function codeOf(promise: Promise<unknown>): Promise<Code | "ok"> {
  try {
    await promise;
    return "ok";
  } catch (error) {
    return ConnectError.from(error).code;
  }
}

async function ready(url: string): Promise<boolean> {
  return (await fetch(`${url}/readyz`)).status === 200;
}

describe("idempotency across restarts", () => {
  let nats: NatsServerHandle;
  afterAll(async () => nats?.stop());

  it("keeps answering identical retries with the original offset after a node restart and a NATS crash", async () => {
    nats = await startNatsServer();
    const config = testConfig(nats.url, pki);
    let running = await startTestNode(config);
    await running.node.whenReady();
    const first = await clientFor(running.url, pki.ca, pki.clients.erp).appendFact(fact("restart-1"));
    await running.node.stop();

    running = await startTestNode(config);
    await running.node.whenReady();
    const afterNodeRestart = await clientFor(running.url, pki.ca, pki.clients.erp).appendFact(
      fact("restart-1"),
    );
    expect(afterNodeRestart).toMatchObject({ offset: first.offset, duplicate: true });

    await nats.kill();
    await nats.restart();
    await eventually(() => ready(running.adminUrl), 20_000, "ready after NATS restart");
    const client = clientFor(running.url, pki.ca, pki.clients.erp);
    expect(await client.appendFact(fact("restart-1"))).toMatchObject({
      offset: first.offset,
      duplicate: true,
    });
    expect(await codeOf(client.appendFact(fact("restart-1", '{"n": 2}')))).toBe(Code.AlreadyExists);
    await running.node.stop();
  });
});

describe("NATS outage", () => {
  let nats: NatsServerHandle;
  let running: RunningTestNode;
  beforeAll(async () => {
    nats = await startNatsServer();
    // A long request timeout: if appends waited for it instead of failing fast, the test would time out.
    running = await startTestNode(
      testConfig(nats.url, pki, { nats: { servers: [nats.url], request_timeout: "60s" } }),
    );
    await running.node.whenReady();
  });
  afterAll(async () => {
    await running?.node.stop();
    await nats?.stop();
  });

  it("fails appends fast with unavailable while NATS is down, turns not-ready, and recovers by itself", async () => {
    const client = clientFor(running.url, pki.ca, pki.clients.erp);
    expect(await codeOf(client.appendFact(fact("outage-0")))).toBe("ok");
    await nats.kill();
    await eventually(async () => !(await ready(running.adminUrl)), 10_000, "not ready");
    const readyz = (await (await fetch(`${running.adminUrl}/readyz`)).json()) as { reasons: string[] };
    expect(readyz.reasons).toContain("zone NATS is not connected");
    for (let i = 0; i < 5; i++)
      expect(await codeOf(client.appendFact(fact(`outage-${i + 1}`)))).toBe(Code.Unavailable);
    expect((await fetch(`${running.adminUrl}/livez`)).status).toBe(200);

    await nats.restart();
    await eventually(() => ready(running.adminUrl), 20_000, "ready again");
    expect(await codeOf(client.appendFact(fact("outage-after")))).toBe("ok");
    expect(running.logs().some((l) => l.msg === "reconnected to NATS")).toBe(true);
  });
});

describe("back-pressure", () => {
  let nats: NatsServerHandle;
  afterAll(async () => nats?.stop());

  it("refuses appends with resource_exhausted at the configured fill, and when JetStream itself is full", async () => {
    nats = await startNatsServer();
    const categories = (fill: string) => ({
      operational: { max_age: "1d", max_bytes: fill },
      audit: { max_age: "1d", max_bytes: "8KiB" },
    });
    const config = (fillPercent: number) =>
      testConfig(nats.url, pki, {
        categories: categories("128KiB"),
        category_rules: {},
        backpressure: { fill_percent: fillPercent },
        peers: { "plant-a": { identity: "plant-a-bsfg", export: ["operational", "audit"] } },
      });
    let running = await startTestNode(config(50));
    await running.node.whenReady();
    let client = clientFor(running.url, pki.ca, pki.clients.erp);
    const payload = JSON.stringify({ pad: "x".repeat(900) });
    // ~45 facts of ~1.5 KiB stored: over the 50 % threshold of 128 KiB, far from JetStream's own limit.
    for (let i = 0; i < 45; i++) await client.appendFact(fact(`bp-${i}`, payload));
    // The fill sampler runs every second; a few more slow appends must hit the threshold.
    let refused: ConnectError | undefined;
    for (let i = 45; i < 60 && refused === undefined; i++) {
      try {
        await client.appendFact(fact(`bp-${i}`, payload));
      } catch (error) {
        refused = ConnectError.from(error);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(refused?.code).toBe(Code.ResourceExhausted);
    expect(refused?.rawMessage).toMatch(
      /store buffer of category "operational" is \d+\.\d% full \(back-pressure from 50%\)/,
    );

    // With the threshold at 100 % only JetStream's own discard-new refusal is left: still resource_exhausted.
    await running.node.stop();
    running = await startTestNode(config(100));
    await running.node.whenReady();
    client = clientFor(running.url, pki.ca, pki.clients.erp);
    const audit = async (i: number) =>
      client.appendFact({ ...fact(`bp-audit-${i}`, payload), category: "audit" });
    let jsRefusal: ConnectError | undefined;
    for (let i = 0; i < 40 && jsRefusal === undefined; i++) {
      try {
        await audit(i);
      } catch (error) {
        jsRefusal = ConnectError.from(error);
      }
    }
    expect(jsRefusal?.code).toBe(Code.ResourceExhausted);
    expect(jsRefusal?.rawMessage).toMatch(/the store buffer is full/);
    await running.node.stop();
  });
});

describe("provisioning at startup", () => {
  let nats: NatsServerHandle;
  afterAll(async () => nats?.stop());

  it("reports a stream that cannot be reconciled as a fatal startup error naming it", async () => {
    nats = await startNatsServer();
    const nc = await connect({ servers: nats.url });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({
      name: "facts_operational",
      subjects: ["facts.operational.>"],
      storage: StorageType.Memory,
    });
    await nc.close();
    const running = await startTestNode(testConfig(nats.url, pki));
    const error = await running.node.fatal;
    expect(error.message).toMatch(/^stream facts_operational cannot be reconciled with the configuration: /);
    expect(running.node.readiness().ready).toBe(false);
    await running.node.stop();
  });
});
