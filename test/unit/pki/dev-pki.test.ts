import { createPrivateKey, X509Certificate } from "node:crypto";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { isAbsolute, join } from "node:path";
import type * as X509 from "@peculiar/x509";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CertificateAuthority } from "../../../src/pki/dev-pki.js";
import {
  certificateExpiry,
  createCertificateAuthority,
  issueCertificate,
  writeDevPki,
} from "../../../src/pki/dev-pki.js";

const SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
const CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";

describe("dev PKI", () => {
  let ca: CertificateAuthority;
  let otherCa: CertificateAuthority;
  let x509: typeof X509;

  beforeAll(async () => {
    // Imported after dev-pki, which installs the Reflect metadata shim @peculiar/x509 needs at load time.
    x509 = await import("@peculiar/x509");
    ca = await createCertificateAuthority({ commonName: "BSFG Dev CA" });
    otherCa = await createCertificateAuthority({ commonName: "BSFG Dev CA" });
  });

  it("creates a self-signed CA certificate restricted to certificate signing", () => {
    const cert = new X509Certificate(ca.certPem);
    expect(cert.ca).toBe(true);
    expect(cert.subject).toBe("CN=BSFG Dev CA");
    expect(cert.checkIssued(cert)).toBe(true);
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(ca.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    const parsed = new x509.X509Certificate(ca.certPem);
    const basic = parsed.getExtension(x509.BasicConstraintsExtension);
    const usage = parsed.getExtension(x509.KeyUsagesExtension);
    expect(basic?.critical).toBe(true);
    expect(usage?.critical).toBe(true);
    expect(usage?.usages).toBe(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
    expect(parsed.getExtension(x509.SubjectKeyIdentifierExtension)).not.toBeNull();
  });

  it("issues a server certificate that verifies against its CA only", async () => {
    const pair = await issueCertificate(ca, {
      commonName: "plant-a",
      usage: "server",
      uriSans: ["spiffe://bsfg/zone/plant-a"],
    });
    const cert = new X509Certificate(pair.certPem);
    const caCert = new X509Certificate(ca.certPem);
    expect(cert.ca).toBe(false);
    expect(cert.verify(caCert.publicKey)).toBe(true);
    expect(cert.checkIssued(caCert)).toBe(true);
    expect(cert.verify(new X509Certificate(otherCa.certPem).publicKey)).toBe(false);
    expect(cert.subject).toBe("CN=plant-a");
    expect(cert.subjectAltName).toBe(
      "DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, URI:spiffe://bsfg/zone/plant-a",
    );
    expect(cert.keyUsage).toEqual([SERVER_AUTH]);
    const leaf = new x509.X509Certificate(pair.certPem);
    expect(await leaf.verify({ publicKey: new x509.X509Certificate(ca.certPem).publicKey })).toBe(true);
    expect(await leaf.verify({ publicKey: new x509.X509Certificate(otherCa.certPem).publicKey })).toBe(false);
    const aki = leaf.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId;
    const caSki = new x509.X509Certificate(ca.certPem).getExtension(
      x509.SubjectKeyIdentifierExtension,
    )?.keyId;
    expect(aki).toBeDefined();
    expect(aki).toBe(caSki);
    expect(leaf.getExtension(x509.KeyUsagesExtension)?.critical).toBe(true);
    expect(leaf.getExtension(x509.KeyUsagesExtension)?.usages).toBe(x509.KeyUsageFlags.digitalSignature);
  });

  it("gives client certificates clientAuth and no default host names", async () => {
    const pair = await issueCertificate(ca, {
      commonName: "operator",
      usage: "client",
      uriSans: ["spiffe://bsfg/client/operator"],
    });
    const cert = new X509Certificate(pair.certPem);
    expect(cert.keyUsage).toEqual([CLIENT_AUTH]);
    expect(cert.subjectAltName).toBe("URI:spiffe://bsfg/client/operator");
  });

  it("honours explicit SANs and both usages", async () => {
    const pair = await issueCertificate(ca, {
      commonName: "node, with comma",
      usage: "both",
      dnsNames: ["gw.example.test"],
      ipAddresses: ["10.0.0.7"],
    });
    const cert = new X509Certificate(pair.certPem);
    expect(cert.subject).toBe("CN=node\\, with comma");
    expect(cert.subjectAltName).toBe("DNS:gw.example.test, IP Address:10.0.0.7");
    expect([...(cert.keyUsage ?? [])].sort()).toEqual([SERVER_AUTH, CLIENT_AUTH].sort());
  });

  it("respects validDays and explicit validity windows", async () => {
    const before = Date.now();
    const short = await issueCertificate(ca, { commonName: "short", usage: "client", validDays: 2 });
    const expiry = certificateExpiry(short.certPem).getTime();
    expect(expiry).toBeGreaterThan(before + 2 * 86_400_000 - 120_000);
    expect(expiry).toBeLessThanOrEqual(Date.now() + 2 * 86_400_000);

    const notBefore = new Date("2020-01-01T00:00:00Z");
    const notAfter = new Date("2020-01-02T00:00:00Z");
    const expired = await issueCertificate(ca, { commonName: "old", usage: "client", notBefore, notAfter });
    expect(certificateExpiry(expired.certPem).toISOString()).toBe(notAfter.toISOString());
    expect(new Date(new X509Certificate(expired.certPem).validFrom).toISOString()).toBe(
      notBefore.toISOString(),
    );
  });

  it("uses distinct positive 16-byte serial numbers", async () => {
    const serials = await Promise.all(
      [1, 2, 3].map(async (i) => {
        const pair = await issueCertificate(ca, { commonName: `s${i}`, usage: "client" });
        return new X509Certificate(pair.certPem).serialNumber;
      }),
    );
    for (const serial of serials) {
      expect(serial).toMatch(/^[0-7][0-9A-F]{31}$/);
    }
    expect(new Set(serials).size).toBe(serials.length);
  });

  it("produces PKCS#8 keys that Node loads and that match the certificate", async () => {
    const pair = await issueCertificate(ca, { commonName: "k", usage: "server" });
    const key = createPrivateKey(pair.keyPem);
    expect(key.asymmetricKeyType).toBe("ec");
    expect(key.asymmetricKeyDetails?.namedCurve).toBe("prime256v1");
    expect(new X509Certificate(pair.certPem).checkPrivateKey(key)).toBe(true);
    expect(createPrivateKey(ca.keyPem).asymmetricKeyType).toBe("ec");
  });

  describe("writeDevPki", () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), "bsfg-pki-"));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it("writes CA, certs and private keys with absolute paths and 0600 keys", async () => {
      const out = await writeDevPki(join(dir, "pki"), {
        caCommonName: "Written CA",
        servers: [{ name: "plant-a", commonName: "plant-a", uriSans: ["spiffe://bsfg/zone/plant-a"] }],
        clients: [{ name: "operator", commonName: "operator" }],
      });
      expect(isAbsolute(out.ca)).toBe(true);
      expect(Object.keys(out.files).sort()).toEqual(["operator", "plant-a"]);
      const caCert = new X509Certificate(await readFile(out.ca));
      for (const { cert, key } of Object.values(out.files)) {
        expect(isAbsolute(cert) && isAbsolute(key)).toBe(true);
        const leaf = new X509Certificate(await readFile(cert));
        expect(leaf.checkIssued(caCert) && leaf.verify(caCert.publicKey)).toBe(true);
        expect(leaf.checkPrivateKey(createPrivateKey(await readFile(key)))).toBe(true);
        expect((await stat(key)).mode & 0o777).toBe(0o600);
      }
      const server = new X509Certificate(await readFile(out.files["plant-a"]?.cert ?? ""));
      expect([...(server.keyUsage ?? [])].sort()).toEqual([SERVER_AUTH, CLIENT_AUTH].sort());
      expect(server.subjectAltName).toContain("URI:spiffe://bsfg/zone/plant-a");
      const client = new X509Certificate(await readFile(out.files.operator?.cert ?? ""));
      expect(client.keyUsage).toEqual([CLIENT_AUTH]);
    });
  });
});
