import { X509Certificate } from "node:crypto";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { type CertificateAuthority, createCertificateAuthority, issueCertificate } from "../pki/dev-pki.js";
import { failWith } from "./cli-failure.js";
import type { CliIo } from "./cli-io.js";

export interface CertsFlags {
  readonly out: string;
  readonly caName?: string;
  /** Node identities (`<zone>-bsfg`): server and client usage. */
  readonly server?: readonly string[];
  /** Application identities: client usage. */
  readonly client?: readonly string[];
  readonly uriSan?: readonly string[];
  readonly days?: number;
  readonly json?: boolean;
}

/**
 * `bsfg certs`: a development CA and certificates for nodes and clients. The
 * CA is created once (`ca.pem`, `ca-key.pem`) and reused, so running it again
 * re-issues (rotates) certificates that nodes pick up without a restart.
 * Production PKI: see the README's security section.
 */
export async function certsCommand(io: CliIo, flags: CertsFlags): Promise<number> {
  try {
    const out = resolve(flags.out);
    await mkdir(out, { recursive: true });
    const ca = await loadOrCreateCa(out, flags.caName ?? "BSFG development CA");
    const written: Record<string, { cert: string; key: string; expires: string }> = {};
    const issue = async (name: string, usage: "both" | "client") => {
      const pair = await issueCertificate(ca, {
        commonName: name,
        usage,
        validDays: flags.days ?? 365,
        ...(flags.uriSan !== undefined && flags.uriSan.length > 0 && { uriSans: flags.uriSan }),
      });
      const cert = join(out, `${name}.pem`);
      const key = join(out, `${name}-key.pem`);
      // Key first, then certificate: a watcher that reloads on the certificate sees a matching pair.
      await writeFile(key, pair.keyPem, { mode: 0o600 });
      await chmod(key, 0o600);
      await writeFile(cert, pair.certPem);
      written[name] = { cert, key, expires: new X509Certificate(pair.certPem).validTo };
    };
    for (const name of flags.server ?? []) await issue(name, "both");
    for (const name of flags.client ?? []) await issue(name, "client");
    const result = { ca: join(out, "ca.pem"), certificates: written };
    if (flags.json) io.stdout.write(`${JSON.stringify(result)}\n`);
    else {
      io.stdout.write(`CA ${result.ca}\n`);
      for (const [name, w] of Object.entries(written))
        io.stdout.write(`${name}: ${w.cert} ${w.key} (expires ${w.expires})\n`);
    }
    return 0;
  } catch (error) {
    return failWith(io, flags.json, error);
  }
}

async function loadOrCreateCa(out: string, commonName: string): Promise<CertificateAuthority> {
  const certPath = join(out, "ca.pem");
  const keyPath = join(out, "ca-key.pem");
  try {
    const [certPem, keyPem] = await Promise.all([readFile(certPath, "utf8"), readFile(keyPath, "utf8")]);
    return { commonName: new X509Certificate(certPem).subject.replace(/^CN=/, ""), certPem, keyPem };
  } catch {
    const ca = await createCertificateAuthority({ commonName, validDays: 3650 });
    await writeFile(keyPath, ca.keyPem, { mode: 0o600 });
    await writeFile(certPath, ca.certPem);
    return ca;
  }
}
