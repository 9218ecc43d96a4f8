import { once } from "node:events";
import type { AddressInfo } from "node:net";
import type { TLSSocket } from "node:tls";
import { connect, createServer, type Server } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CertificateAuthority, PemPair } from "../../src/pki/dev-pki.js";
import { createCertificateAuthority, issueCertificate } from "../../src/pki/dev-pki.js";

interface AcceptedPeer {
  authorized: boolean;
  commonName: unknown;
  subjectAltName: string | undefined;
  protocol: string | null;
}

interface ClientOutcome {
  received: string;
  error: Error | undefined;
}

describe("dev PKI over a real mutual TLS 1.3 handshake", () => {
  let ca: CertificateAuthority;
  let server: Server;
  let port: number;
  const accepted: AcceptedPeer[] = [];

  beforeAll(async () => {
    ca = await createCertificateAuthority({ commonName: "BSFG TLS Test CA" });
    const serverPair = await issueCertificate(ca, { commonName: "plant-a", usage: "both" });
    server = createServer(
      {
        key: serverPair.keyPem,
        cert: serverPair.certPem,
        ca: ca.certPem,
        requestCert: true,
        rejectUnauthorized: true,
        minVersion: "TLSv1.3",
      },
      (socket: TLSSocket) => {
        const peer = socket.getPeerCertificate();
        accepted.push({
          authorized: socket.authorized,
          commonName: peer.subject?.CN,
          subjectAltName: peer.subjectaltname,
          protocol: socket.getProtocol(),
        });
        socket.end("welcome");
      },
    );
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    server.close();
    await once(server, "close");
  });

  // With TLS 1.3 the client finishes its side before the server judges the client certificate, and Node's
  // server then just destroys the socket: the verdict shows as the greeting arriving or not, and the reason
  // only as the server-side socket's authorizationError.
  async function runClient(clientPair: PemPair): Promise<ClientOutcome> {
    const socket = connect({
      host: "127.0.0.1",
      port,
      servername: "localhost",
      ca: ca.certPem,
      key: clientPair.keyPem,
      cert: clientPair.certPem,
      minVersion: "TLSv1.3",
    });
    let received = "";
    let error: Error | undefined;
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      received += chunk;
    });
    socket.on("error", (err: Error) => {
      error = err;
    });
    // Not events.once: it would reject on the very error this helper is here to report.
    await new Promise<void>((resolve) => socket.once("close", () => resolve()));
    return { received, error };
  }

  it("accepts a client certificate from the same CA and exposes its identity", async () => {
    const before = accepted.length;
    const client = await issueCertificate(ca, {
      commonName: "plant-b",
      usage: "client",
      uriSans: ["spiffe://bsfg/zone/plant-b"],
    });
    const outcome = await runClient(client);
    expect(outcome.error).toBeUndefined();
    expect(outcome.received).toBe("welcome");
    expect(accepted.slice(before)).toEqual([
      {
        authorized: true,
        commonName: "plant-b",
        subjectAltName: "URI:spiffe://bsfg/zone/plant-b",
        protocol: "TLSv1.3",
      },
    ]);
  });

  it("rejects a client certificate issued by a different CA", async () => {
    const before = accepted.length;
    const foreignCa = await createCertificateAuthority({ commonName: "BSFG TLS Test CA" });
    const client = await issueCertificate(foreignCa, { commonName: "intruder", usage: "client" });
    const serverError = once(server, "tlsClientError");
    const outcome = await runClient(client);
    // Checked before awaiting the server event, which never fires if the handshake wrongly succeeded.
    expect(outcome.received).toBe("");
    expect(accepted.length).toBe(before);
    const [, rejected] = (await serverError) as [Error, TLSSocket];
    expect(rejected.authorized).toBe(false);
    expect(rejected.authorizationError).toBe("UNABLE_TO_VERIFY_LEAF_SIGNATURE");
  });

  it("rejects an expired client certificate from the right CA", async () => {
    const before = accepted.length;
    const client = await issueCertificate(ca, {
      commonName: "plant-b",
      usage: "client",
      notBefore: new Date(Date.now() - 3 * 86_400_000),
      notAfter: new Date(Date.now() - 86_400_000),
    });
    const serverError = once(server, "tlsClientError");
    const outcome = await runClient(client);
    // Checked before awaiting the server event, which never fires if the handshake wrongly succeeded.
    expect(outcome.received).toBe("");
    expect(accepted.length).toBe(before);
    const [, rejected] = (await serverError) as [Error, TLSSocket];
    expect(rejected.authorized).toBe(false);
    expect(rejected.authorizationError).toBe("CERT_HAS_EXPIRED");
  });
});
