import { access, readFile } from "node:fs/promises";
import { join } from "node:path";
import { certificateExpiry, writeDevPki } from "../pki/dev-pki.js";
import { appIdentity, nodeIdentity } from "./mesh-config.js";

export interface DevPkiFiles {
  readonly ca: string;
  /** Node (`<zone>-bsfg`) and app client (`<zone>-app`) credentials by name. */
  readonly files: Readonly<Record<string, { readonly cert: string; readonly key: string }>>;
  /** Whether this call generated the PKI (first run, or the old one was incomplete or expiring). */
  readonly created: boolean;
}

const RENEW_BEFORE_MS = 24 * 60 * 60 * 1000;

/**
 * The dev boundary's PKI under `dir`: reused as long as every file is there
 * and valid for another day, so clients keep their credentials across runs;
 * otherwise regenerated as a whole, since a new CA invalidates every old certificate.
 */
export async function ensureDevPki(dir: string, zones: readonly string[]): Promise<DevPkiFiles> {
  const names = [...zones.map(nodeIdentity), ...zones.map(appIdentity)];
  const existing = {
    ca: join(dir, "ca.pem"),
    files: Object.fromEntries(
      names.map((name) => [name, { cert: join(dir, `${name}.pem`), key: join(dir, `${name}-key.pem`) }]),
    ),
  };
  const certs = [existing.ca, ...Object.values(existing.files).map((f) => f.cert)];
  const keys = Object.values(existing.files).map((f) => f.key);
  if (await allUsable(certs, keys)) return { ...existing, created: false };
  const written = await writeDevPki(dir, {
    caCommonName: "bsfg dev CA",
    servers: zones.map((zone) => ({ name: nodeIdentity(zone), commonName: nodeIdentity(zone) })),
    clients: zones.map((zone) => ({ name: appIdentity(zone), commonName: appIdentity(zone) })),
  });
  return { ...written, created: true };
}

async function allUsable(certs: readonly string[], keys: readonly string[]): Promise<boolean> {
  try {
    await Promise.all(keys.map((key) => access(key)));
    for (const cert of certs) {
      const expiry = certificateExpiry(await readFile(cert, "utf8"));
      if (expiry.getTime() - Date.now() < RENEW_BEFORE_MS) return false;
    }
    return true;
  } catch {
    return false;
  }
}
