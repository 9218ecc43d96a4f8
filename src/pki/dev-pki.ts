import { webcrypto } from "node:crypto";
import { chmod, mkdir, writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import type * as X509 from "@peculiar/x509";

// Dev/test PKI only: production certificates come from the operator's own CA.

// @peculiar/x509's DI container (tsyringe) needs the Reflect metadata API at import time.
import "reflect-metadata";

const x509 = await import("@peculiar/x509");
x509.cryptoProvider.set(webcrypto);

const KEY_ALGORITHM = { name: "ECDSA", namedCurve: "P-256" } as const;
const SIGNING_ALGORITHM = { name: "ECDSA", hash: "SHA-256" } as const;
const DAY_MS = 24 * 60 * 60 * 1000;

export interface PemPair {
  readonly certPem: string;
  /** PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----"). */
  readonly keyPem: string;
}

export interface CertificateAuthority extends PemPair {
  readonly commonName: string;
}

export interface ValidityOptions {
  validDays?: number;
  notBefore?: Date;
  notAfter?: Date;
}

export interface IssueOptions extends ValidityOptions {
  commonName: string;
  uriSans?: readonly string[];
  /** Defaults to ["localhost"] when the certificate can act as a server. */
  dnsNames?: readonly string[];
  /** Defaults to ["127.0.0.1", "::1"] when the certificate can act as a server. */
  ipAddresses?: readonly string[];
  usage: "server" | "client" | "both";
}

export async function createCertificateAuthority(
  options: { commonName: string } & ValidityOptions,
): Promise<CertificateAuthority> {
  const keys = await generateKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: nameOf(options.commonName),
    ...validity(options),
    keys,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return {
    commonName: options.commonName,
    certPem: cert.toString("pem"),
    keyPem: await exportKeyPem(keys.privateKey),
  };
}

export async function issueCertificate(ca: CertificateAuthority, options: IssueOptions): Promise<PemPair> {
  const caCert = new x509.X509Certificate(ca.certPem);
  const caKey = await webcrypto.subtle.importKey(
    "pkcs8",
    x509.PemConverter.decodeFirst(ca.keyPem),
    KEY_ALGORITHM,
    false,
    ["sign"],
  );
  const keys = await generateKeys();
  const actsAsServer = options.usage !== "client";
  const sans: X509.JsonGeneralName[] = [
    ...(options.dnsNames ?? (actsAsServer ? ["localhost"] : [])).map(
      (value) => ({ type: "dns", value }) as const,
    ),
    ...(options.ipAddresses ?? (actsAsServer ? ["127.0.0.1", "::1"] : [])).map(
      (value) => ({ type: "ip", value }) as const,
    ),
    ...(options.uriSans ?? []).map((value) => ({ type: "url", value }) as const),
  ];
  const extensions: X509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension(extendedUsages(options.usage), false),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    await authorityKeyId(caCert),
  ];
  if (sans.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(sans, false));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: nameOf(options.commonName),
    issuer: caCert.subject,
    ...validity(options),
    publicKey: keys.publicKey,
    signingKey: caKey,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions,
  });
  return { certPem: cert.toString("pem"), keyPem: await exportKeyPem(keys.privateKey) };
}

export function certificateExpiry(certPem: string): Date {
  return new x509.X509Certificate(certPem).notAfter;
}

export interface DevPkiEntity {
  name: string;
  commonName: string;
  uriSans?: string[];
}

export async function writeDevPki(
  dir: string,
  spec: { caCommonName: string; servers: DevPkiEntity[]; clients: DevPkiEntity[] },
): Promise<{ ca: string; files: Record<string, { cert: string; key: string }> }> {
  const root = resolve(dir);
  await mkdir(root, { recursive: true });
  const ca = await createCertificateAuthority({ commonName: spec.caCommonName });
  const caPath = resolve(root, "ca.pem");
  await writeFile(caPath, ca.certPem);
  const files: Record<string, { cert: string; key: string }> = {};
  const entities = [
    // Nodes dial their peers too, so a server certificate must also authenticate as a client.
    ...spec.servers.map((entity) => ({ entity, usage: "both" as const })),
    ...spec.clients.map((entity) => ({ entity, usage: "client" as const })),
  ];
  for (const { entity, usage } of entities) {
    if (entity.name in files || entity.name === "ca")
      throw new Error(`duplicate PKI file name: ${entity.name}`);
    const pair = await issueCertificate(ca, {
      commonName: entity.commonName,
      usage,
      ...(entity.uriSans === undefined ? {} : { uriSans: entity.uriSans }),
    });
    const cert = resolve(root, `${entity.name}.pem`);
    const key = resolve(root, `${entity.name}-key.pem`);
    await writeFile(cert, pair.certPem);
    await writeFile(key, pair.keyPem, { mode: 0o600 });
    // writeFile's mode only applies on creation; an existing key file keeps its old mode otherwise.
    await chmod(key, 0o600);
    files[entity.name] = { cert, key };
  }
  return { ca: caPath, files };
}

function nameOf(commonName: string): X509.JsonName {
  // JSON form avoids having to escape commas, plus signs etc. in the DN string syntax.
  return [{ CN: [commonName] }];
}

function validity(options: ValidityOptions): { notBefore: Date; notAfter: Date } {
  // Backdate slightly so a freshly issued cert is valid on hosts whose clocks lag a little.
  const notBefore = options.notBefore ?? new Date(Date.now() - 60_000);
  const notAfter = options.notAfter ?? new Date(notBefore.getTime() + (options.validDays ?? 365) * DAY_MS);
  if (notAfter.getTime() <= notBefore.getTime())
    throw new Error("certificate notAfter must be after notBefore");
  return { notBefore, notAfter };
}

function extendedUsages(usage: IssueOptions["usage"]): X509.ExtendedKeyUsage[] {
  if (usage === "server") return [x509.ExtendedKeyUsage.serverAuth];
  if (usage === "client") return [x509.ExtendedKeyUsage.clientAuth];
  return [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth];
}

async function authorityKeyId(caCert: X509.X509Certificate): Promise<X509.AuthorityKeyIdentifierExtension> {
  const ski = caCert.getExtension(x509.SubjectKeyIdentifierExtension);
  if (ski) return new x509.AuthorityKeyIdentifierExtension(ski.keyId, false);
  return x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey, false);
}

function randomSerial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  // Clearing the top bit keeps the DER INTEGER positive; a non-zero first byte keeps it 16 bytes long.
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x01;
  return Buffer.from(bytes).toString("hex");
}

async function generateKeys(): Promise<webcrypto.CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(KEY_ALGORITHM, true, [
    "sign",
    "verify",
  ])) as webcrypto.CryptoKeyPair;
}

async function exportKeyPem(key: webcrypto.CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await webcrypto.subtle.exportKey("pkcs8", key), "PRIVATE KEY");
}
