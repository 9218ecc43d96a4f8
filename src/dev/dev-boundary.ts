import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type DestinationStream, pino } from "pino";
import { stringify } from "yaml";
import { startZoneNode, type ZoneNode } from "../app.js";
import { type Config, configSchema } from "../config/schema.js";
import { type DevPkiFiles, ensureDevPki } from "./dev-boundary-pki.js";
import { freePort } from "./free-port.js";
import { appIdentity, meshConfigs, nodeIdentity } from "./mesh-config.js";
import { type NatsServerProcess, startNatsServerProcess } from "./nats-server-process.js";

export interface DevZoneSpec {
  readonly zone: string;
  readonly role: "external" | "internal";
}

export const DEV_ZONES: readonly DevZoneSpec[] = [
  { zone: "enterprise", role: "external" },
  { zone: "plant-a", role: "internal" },
];

export interface DevZone extends DevZoneSpec {
  readonly rpcUrl: string;
  readonly adminUrl: string;
  readonly ca: string;
  /** The zone's app client credentials (`<zone>-app`). */
  readonly app: { readonly cert: string; readonly key: string };
  /** Category → the zone's local consumer of that category's imports. */
  readonly consumers: Readonly<Record<string, string>>;
  readonly nats: { readonly url: string; readonly pid: number };
  readonly configPath: string;
  readonly logPath: string;
}

export interface DevBoundary {
  readonly zones: readonly DevZone[];
  /** Whether this run generated the PKI (clients holding old credentials need the new ones). */
  readonly pkiCreated: boolean;
  whenReady(): Promise<void>;
  /** Resolves with the first reason the boundary cannot go on: a node's fatal error or a nats-server that died. */
  readonly failed: Promise<Error>;
  /** Both nodes (drained), then both nats-servers. Idempotent. */
  stop(): Promise<void>;
}

interface RunningZone {
  readonly spec: DevZoneSpec;
  readonly nats: NatsServerProcess;
  node?: ZoneNode;
  log?: DestinationStream & { end(): void; once(event: "close", listener: () => void): unknown };
}

/**
 * A complete boundary on this machine, all state under `dir`: the PKI in
 * `pki/`, and per zone its JetStream store (`<zone>/jetstream`), generated
 * config (`<zone>/bsfg.yaml`) and node log (`<zone>/node.log`). Ports are
 * picked afresh on every start; data and credentials carry over.
 */
export async function startDevBoundary(dir: string, specs = DEV_ZONES): Promise<DevBoundary> {
  // Servers first: their start refuses a store another run still serves, before anything here is touched.
  const started = await Promise.allSettled(
    specs.map((spec) =>
      startNatsServerProcess({
        storeDir: join(dir, spec.zone),
        runDir: join(dir, spec.zone, "run"),
        name: `${spec.zone}-nats`,
      }),
    ),
  );
  const zones: RunningZone[] = [];
  for (const [i, s] of started.entries())
    if (s.status === "fulfilled") zones.push({ spec: specs[i] as DevZoneSpec, nats: s.value });
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= stopAll(zones);
    return stopping;
  };
  const refused = started.find((s) => s.status === "rejected");
  if (refused !== undefined) {
    await stop().catch(() => undefined); // the refusal is the error worth reporting
    throw refused.reason;
  }

  const out: DevZone[] = [];
  let pki: DevPkiFiles;
  try {
    pki = await ensureDevPki(
      join(dir, "pki"),
      specs.map((s) => s.zone),
    );
    const ports = await distinctFreePorts(specs.length * 2);
    const inputs = meshConfigs(
      zones.map((z, i) => ({
        zone: z.spec.zone,
        role: z.spec.role,
        natsUrl: z.nats.url,
        rpcPort: ports[2 * i] as number,
        adminPort: ports[2 * i + 1] as number,
        tls: { ca: pki.ca, ...(pki.files[nodeIdentity(z.spec.zone)] as { cert: string; key: string }) },
      })),
      { log_level: "info" },
    );
    for (const [i, z] of zones.entries()) {
      const zoneDir = join(dir, z.spec.zone);
      const input = inputs[i];
      const config: Config = configSchema.parse(input);
      const configPath = join(zoneDir, "bsfg.yaml");
      await mkdir(zoneDir, { recursive: true });
      await writeFile(
        configPath,
        `# Written by \`bsfg dev\` on every start (ports change); edits are overwritten.\n${stringify(input)}`,
      );
      const logPath = join(zoneDir, "node.log");
      z.log = pino.destination({ dest: logPath, append: true, mkdir: true, sync: false });
      z.node = await startZoneNode(config, { logDestination: z.log });
      out.push({
        ...z.spec,
        rpcUrl: `https://127.0.0.1:${z.node.rpcAddress.port}`,
        adminUrl: `http://127.0.0.1:${z.node.adminAddress.port}`,
        ca: pki.ca,
        app: pki.files[appIdentity(z.spec.zone)] as { cert: string; key: string },
        consumers: Object.fromEntries(
          Object.entries(config.consumers).map(([name, c]) => [c.category, name]),
        ),
        nats: { url: z.nats.url, pid: z.nats.pid },
        configPath,
        logPath,
      });
    }
  } catch (error) {
    await stop().catch(() => undefined); // the start-up failure is the error worth reporting
    throw error;
  }

  const failed = new Promise<Error>((resolve) => {
    for (const z of zones) {
      void z.nats.exited.then((reason) => {
        if (stopping !== undefined) return;
        const problems = z.nats
          .output()
          .split("\n")
          .filter((line) => /\[(ERR|FTL|WRN)\]/.test(line))
          .slice(-5);
        resolve(new Error([`${z.spec.zone}: nats-server ${reason}`, ...problems].join("\n")));
      });
      void z.node?.fatal.then((error) => {
        if (stopping === undefined) resolve(new Error(`${z.spec.zone}: ${error.message}`));
      });
    }
  });

  return {
    zones: out,
    pkiCreated: pki.created,
    whenReady: async () => {
      await Promise.all(zones.map((z) => z.node?.whenReady()));
    },
    failed,
    stop,
  };
}

async function stopAll(zones: readonly RunningZone[]): Promise<void> {
  // Nodes first: they drain in-flight work into a NATS that is still there.
  const results = await Promise.allSettled(
    zones.map(async (z) => {
      await z.node?.stop();
      if (z.log !== undefined) await closeLog(z.log);
    }),
  );
  results.push(...(await Promise.allSettled(zones.map((z) => z.nats.stop()))));
  const errors = results.flatMap((r) => (r.status === "rejected" ? [r.reason as Error] : []));
  if (errors.length > 0)
    throw new Error(`stopping the dev boundary: ${errors.map((e) => e.message).join("; ")}`);
}

function closeLog(log: NonNullable<RunningZone["log"]>): Promise<void> {
  return new Promise((resolve) => {
    log.once("close", () => resolve());
    log.end();
  });
}

/** Separate calls to freePort may hand out the same port twice; the nodes need four different ones. */
async function distinctFreePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}
