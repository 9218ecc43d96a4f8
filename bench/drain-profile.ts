/**
 * `npm run bench -- drain-profile [--backlog N] [--dir DIR]`: builds a backlog
 * in enterprise while the link is cut, restarts both nodes under
 * `node --cpu-prof`, heals, times the drain into plant-a and prints where
 * each node spent its CPU (the sender serves FetchFacts, the receiver writes
 * the forward buffer).
 */
import { mkdir, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { clientFor } from "../test/fixtures/test-node.js";
import { startZones } from "../test/fixtures/zones.js";
import { appendBatches, healAndTimeDrain, startProfiledNode, streamLastSeq } from "./gateway.js";
import { round, stopChild } from "./load.js";
import { printZoneProfiles } from "./profile.js";

export async function runDrainProfile(argv: readonly string[]): Promise<void> {
  const flag = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const backlog = Number(flag("backlog") ?? 30_000);
  const dir = flag("dir") ?? (await mkdtemp(join(tmpdir(), "bsfg-drainprof-")));
  const zones = await startZones(["enterprise", "plant-a"], () => ({
    receiver: { batch: 1000, wait: "1s", backoff_base: "100ms", backoff_max: "1s" },
    log_level: "warn",
  }));
  const children = [];
  try {
    const ent = zones.zone("enterprise");
    const plant = zones.zone("plant-a");
    ent.proxy.cut();
    const clients = Array.from({ length: 4 }, () => clientFor(ent.rpcUrl, zones.ca, ent.app));
    await appendBatches(clients, "d", backlog, 500, 4, 30 * 60_000);
    const target = await streamLastSeq(ent.nats.url, "facts_operational");
    for (const zone of [ent, plant]) {
      const zoneDir = join(dir, zone.name);
      await mkdir(zoneDir, { recursive: true });
      children.push(await startProfiledNode(zone, zoneDir));
    }
    const seconds = await healAndTimeDrain(ent, plant, target, 30 * 60_000);
    console.log(
      `drained ${target} facts in ${round(seconds, 2)} s = ${Math.round(target / seconds)} facts/s`,
    );
  } finally {
    for (const child of children) await stopChild(child);
    await zones.stop();
  }
  await printZoneProfiles(dir, ["enterprise", "plant-a"], 20);
}
