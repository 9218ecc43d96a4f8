import { readFileSync } from "node:fs";
import { chmod, mkdtemp, rename, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tls from "node:tls";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type CertificateAuthority,
  createCertificateAuthority,
  issueCertificate,
} from "../../src/pki/dev-pki.js";
import { type NatsServerHandle, startNatsServer } from "../fixtures/nats-server.js";
import {
  clientFor,
  eventually,
  type RunningTestNode,
  startTestNode,
  testConfig,
} from "../fixtures/test-node.js";
import type { TestPki } from "../fixtures/test-pki.js";

let nats: NatsServerHandle;
let ca: CertificateAuthority;
let dir: string;
let pki: TestPki;
let running: RunningTestNode;

async function writeAtomically(path: string, text: string): Promise<void> {
  await writeFile(`${path}.tmp`, text, { mode: 0o600 });
  await rename(`${path}.tmp`, path);
}

/** The serial number of the certificate a fresh TLS connection to the node is shown. */
function servedSerial(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: "127.0.0.1",
      port,
      ca: readFileSync(pki.ca),
      cert: readFileSync(pki.clients.erp.cert),
      key: readFileSync(pki.clients.erp.key),
      servername: "localhost",
    });
    socket.once("secureConnect", () => {
      resolve(socket.getPeerCertificate().serialNumber);
      socket.destroy();
    });
    socket.once("error", reject);
  });
}

beforeAll(async () => {
  nats = await startNatsServer();
  dir = await mkdtemp(join(tmpdir(), "bsfg-rotation-"));
  ca = await createCertificateAuthority({ commonName: "rotation CA" });
  const file = (name: string) => join(dir, name);
  await writeFile(file("ca.pem"), ca.certPem);
  const node = await issueCertificate(ca, { commonName: "enterprise-bsfg", usage: "both" });
  await writeFile(file("node.pem"), node.certPem);
  // Deliberately loose, to see the startup warning.
  await writeFile(file("node-key.pem"), node.keyPem);
  await chmod(file("node-key.pem"), 0o644);
  const erp = await issueCertificate(ca, { commonName: "erp", usage: "client" });
  await writeFile(file("erp.pem"), erp.certPem);
  await writeFile(file("erp-key.pem"), erp.keyPem, { mode: 0o600 });
  const files = { cert: file("erp.pem"), key: file("erp-key.pem") };
  pki = {
    dir,
    ca: file("ca.pem"),
    node: { cert: file("node.pem"), key: file("node-key.pem") },
    clients: { erp: files, admin: files, stranger: files, "plant-a-bsfg": files },
    rogue: files,
    expired: files,
    notYetValid: files,
  };
  running = await startTestNode(testConfig(nats.url, pki));
  await running.node.whenReady();
});

afterAll(async () => {
  await running?.node.stop();
  await nats?.stop();
});

describe("certificate rotation without restart", () => {
  it("warns at startup about a private key readable by others", () => {
    expect(
      running.logs().some((l) => l.msg === "private key file is readable by group or others; chmod 600 it"),
    ).toBe(true);
  });

  it("serves new connections with rotated files while appends keep flowing, losing and duplicating nothing", async () => {
    const port = running.node.rpcAddress.port;
    const before = await servedSerial(port);
    const client = clientFor(running.url, pki.ca, pki.clients.erp);
    let stop = false;
    const acked: string[] = [];
    const load = (async () => {
      for (let i = 0; !stop; i++) {
        const id = `rot-${i}`;
        await client.appendFact({
          envelope: { messageId: id, fromZone: "enterprise", toZone: "plant-a", producedAtUnixMs: 1n },
          fact: { subject: "order:1", predicate: "created", objectJson: "{}" },
        });
        acked.push(id);
      }
    })();
    const next = await issueCertificate(ca, { commonName: "enterprise-bsfg", usage: "both" });
    await writeAtomically(pki.node.key, next.keyPem);
    await writeAtomically(pki.node.cert, next.certPem);
    await eventually(async () => (await servedSerial(port)) !== before, 15_000, "new certificate served");
    await eventually(() => acked.length > 50, 15_000, "appends after the rotation");
    stop = true;
    await load;

    const nc = await connect({ servers: nats.url });
    const stored = (await (await jetstreamManager(nc)).streams.info("facts_operational")).state.messages;
    await nc.close();
    expect(stored).toBe(acked.length);
    expect(running.logs().some((l) => l.msg === "TLS material reloaded")).toBe(true);
  });

  it("keeps the current certificates when the new files are broken", async () => {
    const port = running.node.rpcAddress.port;
    const current = await servedSerial(port);
    expect(running.node.reloadTls()).toBe(true);
    await writeAtomically(pki.node.key, "-----BEGIN PRIVATE KEY-----\nbroken\n-----END PRIVATE KEY-----\n");
    await eventually(
      () => running.logs().some((l) => l.msg === "TLS reload failed; keeping the previous certificates"),
      15_000,
      "reload refused",
    );
    expect(await servedSerial(port)).toBe(current);
  });
});
