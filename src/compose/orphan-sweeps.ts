import type { KvReferenceRegistry } from "../adapters/jetstream/kv-reference-registry.js";
import { sweepOrphans } from "../adapters/jetstream/orphan-sweeper.js";
import type { ZoneNats } from "../adapters/jetstream/zone-nats.js";
import type { Config } from "../config/schema.js";
import type { Logger } from "../ports/logger.js";

/** Schedules the orphan sweep of every bucket (every orphan_age/4, between 1 s and 10 min); returns a stop function. */
export function scheduleOrphanSweeps(
  config: Config,
  nats: () => ZoneNats | undefined,
  references: KvReferenceRegistry,
  logger: Logger,
): () => void {
  const timers = Object.entries(config.buckets).map(([bucket, b]) => {
    const sweep = async () => {
      const zone = nats();
      if (zone === undefined || !zone.isConnected()) return;
      try {
        const result = await sweepOrphans({
          nc: zone.nc,
          jsm: zone.jsm,
          bucket,
          orphanAgeMs: b.orphan_age,
          markRemoval: (key) => references.markRemoval(key),
          clearRemoval: (mark) => references.clearRemoval(mark),
          nowMs: Date.now(),
          logger,
        });
        if (result.objectsRemoved + result.stagedUploadsRemoved > 0)
          logger.info({ bucket, ...result }, "orphan sweep");
      } catch (error) {
        logger.warn({ bucket, err: error }, "orphan sweep failed");
      }
    };
    const timer = setInterval(() => void sweep(), Math.min(600_000, Math.max(1000, b.orphan_age / 4)));
    timer.unref();
    return timer;
  });
  return () => {
    for (const timer of timers) clearInterval(timer);
  };
}
