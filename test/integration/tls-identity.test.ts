import { readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import tls from "node:tls";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCertificateAuthority, issueCertificate } from "../../src/pki/dev-pki.js";
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

const fact = (messageId: string, objectJson = "{}") => ({
  envelope: { messageId, fromZone: "enterprise", toZone: "plant-a", producedAtUnixMs: 1n },
  fact: { subject: "order:1", predicate: "order_created", objectJson },
});

beforeAll(async () => {
  [nats, pki] = await Promise.all([startNatsServer(), createTestPki()]);
});
afterAll(async () => nats?.stop());

describe("TLS and identity", () => {
  let running: RunningTestNode;
  afterAll(async () => running?.node.stop());

  it("refuses TLS 1.2 even with a valid client certificate", async () => {
    running = await startTestNode(testConfig(nats.url, pki));
    await running.node.whenReady();
    const outcome = await new Promise<string>((resolve) => {
      const socket = tls.connect({
        host: "127.0.0.1",
        port: running.node.rpcAddress.port,
        ca: readFileSync(pki.ca),
        cert: readFileSync(pki.clients.erp.cert),
        key: readFileSync(pki.clients.erp.key),
        maxVersion: "TLSv1.2",
        servername: "localhost",
      });
      socket.once("secureConnect", () => {
        socket.destroy();
        resolve("connected");
      });
      socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    });
    expect(outcome).not.toBe("connected");
    expect(outcome).toMatch(/VERSION|PROTOCOL/);
  });

  it("refuses not-yet-valid, expired and foreign-CA client certificates, logging why", async () => {
    running ??= await startTestNode(testConfig(nats.url, pki));
    await running.node.whenReady();
    const cases = [
      {
        who: pki.notYetValid,
        reason: "CERT_NOT_YET_VALID",
        explanation: "the client certificate is not valid yet (its notBefore is in the future)",
      },
      { who: pki.expired, reason: "CERT_HAS_EXPIRED", explanation: "the client certificate has expired" },
      {
        who: pki.rogue,
        reason: "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
        explanation: "the client certificate is not signed by a CA in tls.ca",
      },
    ];
    for (const { who, reason, explanation } of cases) {
      const refusals = () =>
        running
          .logs()
          .filter(
            (l) => l.msg === "TLS handshake refused" && l.reason === reason && l.explanation === explanation,
          ).length;
      const before = refusals();
      const error = await clientFor(running.url, pki.ca, who)
        .appendFact(fact(`tls-${reason}`))
        .catch((e: unknown) => ConnectError.from(e));
      expect(error, reason).toBeInstanceOf(ConnectError);
      await eventually(() => refusals() > before, 10_000, `${reason} logged`);
    }
  });

  it("reads the principal from the URI SAN when configured, ignoring the CN", async () => {
    // The test PKI does not expose its CA key, so this test makes its own zone CA and node cert.
    const zoneCa = await createCertificateAuthority({ commonName: "uri zone CA" });
    const node = await issueCertificate(zoneCa, { commonName: "enterprise-bsfg", usage: "both" });
    const spiffe = await issueCertificate(zoneCa, {
      commonName: "not-the-principal",
      uriSans: ["spiffe://bsfg/app/erp"],
      usage: "client",
    });
    const cnOnly = await issueCertificate(zoneCa, { commonName: "spiffe://bsfg/app/erp", usage: "client" });
    const file = async (name: string, text: string) => {
      const path = join(pki.dir, name);
      await writeFile(path, text);
      return path;
    };
    const caPath = await file("uri-ca.pem", zoneCa.certPem);
    const nodeCert = await file("uri-node.pem", node.certPem);
    const nodeKey = await file("uri-node-key.pem", node.keyPem);
    const uriPki = { ...pki, ca: caPath, node: { cert: nodeCert, key: nodeKey } };
    const uriNode = await startTestNode(
      testConfig(nats.url, uriPki, {
        tls: { ca: caPath, cert: nodeCert, key: nodeKey, identity: "uri_san" },
        principals: { "spiffe://bsfg/app/erp": { append: ["operational"] } },
      }),
    );
    try {
      await uriNode.node.whenReady();
      const ok = clientFor(uriNode.url, caPath, {
        cert: await file("s.pem", spiffe.certPem),
        key: await file("s-key.pem", spiffe.keyPem),
      });
      expect((await ok.appendFact(fact("uri-1"))).duplicate).toBe(false);
      const denied = clientFor(uriNode.url, caPath, {
        cert: await file("c.pem", cnOnly.certPem),
        key: await file("c-key.pem", cnOnly.keyPem),
      });
      const error = await denied.appendFact(fact("uri-2")).catch((e: unknown) => ConnectError.from(e));
      expect(error).toBeInstanceOf(ConnectError);
      expect((error as ConnectError).code).toBe(Code.PermissionDenied);
      expect((error as ConnectError).rawMessage).toContain('principal ""');
    } finally {
      await uriNode.node.stop();
    }
  });
});

describe("idempotency horizon", () => {
  it("index mode keeps detecting retries long after the stream's duplicate window; window mode does not", async () => {
    const running = await startTestNode(
      testConfig(nats.url, pki, {
        categories: {
          operational: { max_age: "1d", duplicate_window: "100ms" },
          telemetry: { max_age: "1d", dedup: "window", duplicate_window: "100ms" },
        },
        peers: { "plant-a": { identity: "plant-a-bsfg", export: ["operational", "telemetry"] } },
        principals: { admin: { append: ["*"] } },
      }),
    );
    try {
      await running.node.whenReady();
      const client = clientFor(running.url, pki.ca, pki.clients.admin);
      const first = await client.appendFact(fact("horizon-1"));
      const firstTelemetry = await client.appendFact({ ...fact("horizon-t"), category: "telemetry" });
      await new Promise((r) => setTimeout(r, 500));
      expect(await client.appendFact(fact("horizon-1"))).toMatchObject({
        offset: first.offset,
        duplicate: true,
      });
      const conflict = await client
        .appendFact(fact("horizon-1", "[1]"))
        .catch((e: unknown) => ConnectError.from(e));
      expect((conflict as ConnectError).code).toBe(Code.AlreadyExists);
      // Past its window, window mode stores the retry again: that is its documented horizon.
      const again = await client.appendFact({ ...fact("horizon-t"), category: "telemetry" });
      expect(again.duplicate).toBe(false);
      expect(again.offset).toBe(firstTelemetry.offset + 1n);
    } finally {
      await running.node.stop();
    }
  });
});
