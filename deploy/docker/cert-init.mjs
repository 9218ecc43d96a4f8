// One-shot dev PKI + NATS password files for docker-compose.yml (service `cert-init`).
//
//   node deploy/docker/cert-init.mjs [DIR]        (DIR default: /etc/bsfg/tls)
//
// Writes, with the project's own dev PKI code (writeDevPki):
//   DIR/ca.pem                                    one dev CA shared by both zones
//   DIR/<zone>-bsfg.pem, DIR/<zone>-bsfg-key.pem  node certificates (server + client)
//   DIR/<client>.pem, DIR/<client>-key.pem        application client certificates
//   DIR/<zone>-nats-password                      the node's NATS password (user "bsfg")
//
// Idempotent: an existing, complete PKI is kept (clients on the host keep working
// across `docker compose up`); the password files are rewritten every run from
// <ZONE>_NATS_PASSWORD (zone upper-cased, '-' → '_', e.g. PLANT_A_NATS_PASSWORD),
// the same variables docker-compose.yml passes to each zone's nats-server.
//
// Settings (environment):
//   BSFG_PKI_ZONES    zones, space separated        default "enterprise plant-a"
//   BSFG_PKI_CLIENTS  client identities (CNs)        default "erp-gateway mes-gateway"
//
// Dev only: one CA signs everything, and its key is not kept. Production uses the
// zones' own PKI (ARCHITECTURE.md §4).
import { access, chmod, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const dir = resolve(process.argv[2] ?? "/etc/bsfg/tls");
const words = (value, fallback) => (value ?? fallback).split(/[\s,]+/).filter((w) => w !== "");
const zones = words(process.env.BSFG_PKI_ZONES, "enterprise plant-a");
const clients = words(process.env.BSFG_PKI_CLIENTS, "erp-gateway mes-gateway");
const say = (line) => process.stdout.write(`cert-init: ${line}\n`);

/** The built dev PKI module (the image); from a source checkout without a build, the TypeScript via tsx. */
async function loadDevPki() {
  const built = fileURLToPath(new URL("../../dist/pki/dev-pki.js", import.meta.url));
  try {
    await access(built);
    return await import(built);
  } catch {
    const { register } = await import("tsx/esm/api");
    register();
    return await import(new URL("../../src/pki/dev-pki.ts", import.meta.url).href);
  }
}

async function exists(path) {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

const names = [...zones.map((zone) => `${zone}-bsfg`), ...clients];
const expected = [
  join(dir, "ca.pem"),
  ...names.flatMap((name) => [join(dir, `${name}.pem`), join(dir, `${name}-key.pem`)]),
];
const present = await Promise.all(expected.map(exists));
if (present.every(Boolean)) {
  say(`keeping the existing PKI in ${dir}`);
} else {
  const { writeDevPki } = await loadDevPki();
  await writeDevPki(dir, {
    caCommonName: "bsfg compose dev CA",
    servers: zones.map((zone) => ({ name: `${zone}-bsfg`, commonName: `${zone}-bsfg` })),
    clients: clients.map((name) => ({ name, commonName: name })),
  });
  say(`wrote a dev CA and certificates for ${names.join(", ")} in ${dir}`);
}

for (const zone of zones) {
  const variable = `${zone.toUpperCase().replaceAll("-", "_")}_NATS_PASSWORD`;
  const password = process.env[variable];
  if (password === undefined || password === "") {
    say(`${variable} is not set: no NATS password file for zone ${zone}`);
    process.exitCode = 1;
    continue;
  }
  const file = join(dir, `${zone}-nats-password`);
  await writeFile(file, `${password}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
  say(`wrote ${file}`);
}
