import { rename, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { type DevBoundary, type DevZone, startDevBoundary } from "../dev/dev-boundary.js";
import type { CliIo } from "./cli-io.js";
import { formatDevJson } from "./dev-json.js";

export interface DevCommandFlags {
  readonly dir: string;
}

type Outcome = { kind: "ready" } | { kind: "signal" } | { kind: "failed"; error: Error };

/**
 * `bsfg dev`: a two-zone boundary on this machine until SIGINT/SIGTERM, then
 * exit 0; a node or nats-server that cannot run stops everything with exit 1.
 * `dev.json` appears only once both nodes are ready, so a script can wait for it.
 */
export async function devCommand(io: CliIo, flags: DevCommandFlags): Promise<number> {
  // Subscribed before the slow start-up, so a Ctrl-C during it still stops what was started.
  const signal = io.terminationSignal().then((): Outcome => ({ kind: "signal" }));
  const dir = resolve(flags.dir);
  const devJson = join(dir, "dev.json");
  io.stdout.write(`bsfg dev: starting two zones in ${dir}\n`);

  let boundary: DevBoundary;
  try {
    boundary = await startDevBoundary(dir);
  } catch (error) {
    io.stderr.write(`bsfg dev: cannot start: ${(error as Error).message}\n`);
    return 1;
  }
  // The last run's file names dead ports; removed only now, since a refused start must not touch a running boundary's.
  await rm(devJson, { force: true });
  const failed = boundary.failed.then((error): Outcome => ({ kind: "failed", error }));
  io.stdout.write(
    `${boundary.pkiCreated ? "generated a dev PKI" : "reusing the dev PKI"} in ${join(dir, "pki")}; waiting for both nodes\n`,
  );
  let outcome = await Promise.race([
    boundary.whenReady().then((): Outcome => ({ kind: "ready" })),
    signal,
    failed,
  ]);
  if (outcome.kind === "ready") {
    try {
      await writeDevJson(devJson, boundary.zones);
      io.stdout.write(summary(dir, devJson, boundary.zones));
      outcome = await Promise.race([signal, failed]);
    } catch (error) {
      outcome = { kind: "failed", error: error as Error };
    }
  }

  io.stdout.write("stopping both nodes, then both nats-servers\n");
  let code = 0;
  try {
    await boundary.stop();
  } catch (error) {
    io.stderr.write(`bsfg dev: ${(error as Error).message}\n`);
    code = 1;
  }
  if (outcome.kind === "failed") {
    io.stderr.write(`bsfg dev: ${outcome.error.message}\n`);
    return 1;
  }
  io.stdout.write("stopped\n");
  return code;
}

async function writeDevJson(path: string, zones: readonly DevZone[]): Promise<void> {
  const text = formatDevJson({
    zones: zones.map((z) => ({
      zone: z.zone,
      role: z.role,
      url: z.rpcUrl,
      admin_url: z.adminUrl,
      ca: z.ca,
      cert: z.app.cert,
      key: z.app.key,
      consumers: { ...z.consumers },
    })),
  });
  // Readers polling for the file never see half of it.
  await writeFile(`${path}.tmp`, text);
  await rename(`${path}.tmp`, path);
}

function summary(dir: string, devJson: string, zones: readonly DevZone[]): string {
  const [from, to] = [zones[0]?.zone ?? "enterprise", zones[1]?.zone ?? "plant-a"];
  const dev = `--dev ${shellQuote(devJson)}`;
  const width = Math.max(...zones.map((z) => `${z.zone} (${z.role})`.length));
  return [
    "",
    ...zones.map(
      (z) =>
        `  ${`${z.zone} (${z.role})`.padEnd(width)}  rpc ${z.rpcUrl}  admin ${z.adminUrl}  ${z.nats.url} (nats-server pid ${z.nats.pid})`,
    ),
    `  configs and node logs: ${join(dir, "<zone>", "bsfg.yaml")}, ${join(dir, "<zone>", "node.log")}`,
    `  endpoints and client credentials: ${devJson}`,
    "",
    "try, from another shell in this checkout:",
    `  npx bsfg append ${dev} --zone ${from} --to-zone ${to} --subject order:ENT-1 --predicate order_created --object '{"total": 15000}'`,
    `  npx bsfg fetch ${dev} --zone ${to} --consumer operational --wait-ms 5000`,
    `  npx bsfg confirm ${dev} --zone ${to} --consumer operational --offset <offset>`,
    `  npx bsfg status ${dev} --zone ${to}`,
    "",
    "ready (Ctrl-C stops both nodes and both nats-servers; the data stays for the next run)",
    "",
  ].join("\n");
}

function shellQuote(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;
}
