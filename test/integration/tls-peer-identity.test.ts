import { once } from "node:events";
import { mkdtemp, writeFile } from "node:fs/promises";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCertificateAuthority, issueCertificate, type PemPair } from "../../src/pki/dev-pki.js";
import { type NatsServerHandle, startNatsServer } from "../fixtures/nats-server.js";
import { eventually, type RunningTestNode, startTestNode, testConfig } from "../fixtures/test-node.js";
import type { TestPki } from "../fixtures/test-pki.js";

// The node dials its peer and refuses a server whose certificate names
// another zone's node, even one signed by a CA it trusts: no request is sent.
// The "peer" here is a bare HTTP/2 server answering every RPC with an empty
// message, so the receiver loop sees a caught-up peer when it may talk to it.

let nats: NatsServerHandle;
let running: RunningTestNode;
let peer: http2.Http2SecureServer;
let caPem: string;
let genuine: PemPair;
let impostor: PemPair;
const streams: string[] = [];
/** TCP connections the node opened to the peer. */
let dials = 0;

beforeAll(async () => {
  nats = await startNatsServer();
  const dir = await mkdtemp(join(tmpdir(), "bsfg-peer-identity-"));
  const ca = await createCertificateAuthority({ commonName: "shared boundary CA" });
  caPem = ca.certPem;
  const node = await issueCertificate(ca, { commonName: "enterprise-bsfg", usage: "both" });
  impostor = await issueCertificate(ca, { commonName: "plant-b-bsfg", usage: "both" });
  genuine = await issueCertificate(ca, { commonName: "plant-a-bsfg", usage: "both" });
  const file = async (name: string, text: string) => {
    const path = join(dir, name);
    await writeFile(path, text, { mode: 0o600 });
    return path;
  };
  // Another zone's node, reachable at the address configured for plant-a.
  peer = http2.createSecureServer({
    key: impostor.keyPem,
    cert: impostor.certPem,
    ca: caPem,
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: "TLSv1.3",
  });
  peer.on("connection", () => dials++);
  peer.on("stream", (stream, headers) => {
    streams.push(String(headers[":path"]));
    stream.respond({ ":status": 200, "content-type": "application/proto" });
    stream.end();
  });
  peer.listen(0, "127.0.0.1");
  await once(peer, "listening");
  const tls = {
    ca: await file("ca.pem", caPem),
    cert: await file("node.pem", node.certPem),
    key: await file("node-key.pem", node.keyPem),
  };
  running = await startTestNode(
    // testConfig reads only the CA and the node's files from the PKI.
    testConfig(nats.url, { dir, ca: tls.ca, node: { cert: tls.cert, key: tls.key } } as unknown as TestPki, {
      tls,
      peers: {
        "plant-a": {
          identity: "plant-a-bsfg",
          url: `https://127.0.0.1:${(peer.address() as AddressInfo).port}`,
          import: ["operational"],
        },
      },
      receiver: { wait: "1s", backoff_base: "100ms", backoff_max: "500ms" },
    }),
  );
  await running.node.whenReady();
});

afterAll(async () => {
  await running?.node.stop();
  peer?.close();
  await nats?.stop();
});

describe("outbound peer identity", () => {
  it("refuses a peer presenting another zone's certificate: connects, but sends not one request", async () => {
    await eventually(() => dials >= 2, 20_000, "the node dialled the peer");
    expect(streams).toEqual([]);
    expect(await gate()).toBe("closed");
  });

  it("talks to the same address once it presents plant-a's certificate (the refusal was the identity)", async () => {
    peer.setSecureContext({ key: genuine.keyPem, cert: genuine.certPem, ca: caPem });
    await eventually(async () => (await gate()) === "open", 20_000, "gate open");
    expect(streams[0]).toBe("/bsfg.v1.BoundaryService/FetchFacts");
  });

  it("closes the gate when the peer comes back with another zone's certificate, logging why", async () => {
    peer.setSecureContext({ key: impostor.keyPem, cert: impostor.certPem, ca: caPem });
    // The node's own certificate rotation makes its link dial anew; requests in flight finish.
    expect(running.node.reloadTls()).toBe(true);
    const talked = streams.length;
    await eventually(
      () =>
        running
          .logs()
          .some(
            (l) =>
              l.msg === "gate transition" &&
              l.peer === "plant-a" &&
              l.to === "closed" &&
              /plant-b-bsfg/.test(String(l.error)) &&
              /expected "plant-a-bsfg"/.test(String(l.error)),
          ),
      20_000,
      "refusal logged",
    );
    const dialled = dials;
    await eventually(() => dials > dialled, 20_000, "the node dialled again");
    // A fetch already under way on the old connection may still arrive; nothing after it.
    expect(streams.length).toBeLessThanOrEqual(talked + 1);
    expect(await gate()).toBe("closed");
  });
});

async function gate(): Promise<string | undefined> {
  const status = (await (await fetch(`${running.adminUrl}/status`)).json()) as {
    gates: Record<string, { state: string }>;
  };
  return status.gates["plant-a"]?.state;
}
