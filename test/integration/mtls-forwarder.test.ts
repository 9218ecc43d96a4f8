import { readFileSync } from "node:fs";
import { connect as http2Connect } from "node:http2";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MtlsForwarder, startMtlsForwarder } from "../../bench/mtls-forwarder.js";
import { AppendFactRequestSchema, BoundaryService } from "../../src/gen/bsfg/v1/boundary_pb.js";
import { type NatsServerHandle, startNatsServer } from "../fixtures/nats-server.js";
import { type RunningTestNode, startTestNode, testConfig } from "../fixtures/test-node.js";
import { type CredentialFiles, createTestPki, type TestPki } from "../fixtures/test-pki.js";

let nats: NatsServerHandle;
let pki: TestPki;
let running: RunningTestNode;
const forwarders: MtlsForwarder[] = [];

const fact = (messageId: string) => ({
  envelope: { messageId, fromZone: "enterprise", toZone: "plant-a", producedAtUnixMs: BigInt(Date.now()) },
  fact: { subject: "order:FWD-1", predicate: "order_created", objectJson: '{"total": 1}' },
});

async function forwarder(who: CredentialFiles, ca = pki.ca): Promise<MtlsForwarder> {
  const f = await startMtlsForwarder({
    target: running.url,
    ca: readFileSync(ca),
    cert: readFileSync(who.cert),
    key: readFileSync(who.key),
  });
  forwarders.push(f);
  return f;
}

const plaintextClient = (url: string) =>
  createClient(BoundaryService, createConnectTransport({ baseUrl: url, httpVersion: "2" }));

beforeAll(async () => {
  [nats, pki] = await Promise.all([startNatsServer(), createTestPki()]);
  running = await startTestNode(testConfig(nats.url, pki));
  await running.node.whenReady();
});

afterAll(async () => {
  await Promise.all(forwarders.map((f) => f.close()));
  await running?.node.stop();
  await nats?.stop();
});

describe("the bench's mTLS forwarder (for load generators without client certificates)", () => {
  it("carries plaintext HTTP/2 to the node as an mTLS client with the forwarder's identity", async () => {
    const erp = plaintextClient((await forwarder(pki.clients.erp)).url);
    const res = await erp.appendFact(fact("fwd-1"));
    expect(res.offset).toBeGreaterThan(0n);
    expect(res.duplicate).toBe(false);

    const stranger = plaintextClient((await forwarder(pki.clients.stranger)).url);
    const error = await stranger.appendFact(fact("fwd-2")).then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    );
    expect(error?.code).toBe(Code.PermissionDenied);
  });

  it("answers a bare HTTP/2 POST with a binary body, as h2load sends it", async () => {
    const f = await forwarder(pki.clients.erp);
    const body = toBinary(AppendFactRequestSchema, create(AppendFactRequestSchema, fact("fwd-h2")));
    const session = http2Connect(f.url);
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const req = session.request({
          ":method": "POST",
          ":path": "/bsfg.v1.BoundaryService/AppendFact",
          "content-type": "application/proto",
          "connect-protocol-version": "1",
        });
        req.on("response", (h) => resolve(Number(h[":status"])));
        req.on("error", reject);
        req.end(body);
        req.resume();
      });
      expect(status).toBe(200);
    } finally {
      session.close();
    }
  });

  it("drops the client's connection when the node refuses the forwarder's TLS", async () => {
    // Trusting the wrong CA: the TLS handshake with the node fails, and the client must not hang.
    const f = await forwarder(pki.clients.erp, pki.rogue.cert);
    const error = await plaintextClient(f.url)
      .appendFact(fact("fwd-3"), { timeoutMs: 10_000 })
      .then(
        () => undefined,
        (e: unknown) => ConnectError.from(e),
      );
    // connect-node reports the torn-down stream as canceled; what matters is that it ends at once.
    expect(error).toBeDefined();
    expect(error?.code).not.toBe(Code.DeadlineExceeded);
  });
});
