/**
 * Server RAM per retained fact for each dedup mode: appends N facts through
 * the JetStream store buffer into a fresh nats-server per mode and reads the
 * server's RSS growth from /proc. Run: npm run bench -- idempotency [N]
 */
import { readFileSync } from "node:fs";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import type { CategorySpec } from "../src/adapters/jetstream/category-spec.js";
import { JetStreamStoreBuffer } from "../src/adapters/jetstream/jetstream-store-buffer.js";
import { PipelinedPublisher } from "../src/adapters/jetstream/pipelined-publisher.js";
import { provisionStoreBuffers } from "../src/adapters/jetstream/provisioning.js";
import type { FactRecord } from "../src/domain/fact.js";
import { silentLogger } from "../src/ports/logger.js";
import { startNatsServer } from "../test/fixtures/nats-server.js";

function rssBytes(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(match?.[1] ?? 0) * 1024;
}

function factRecord(i: number, category: string): FactRecord {
  return {
    category,
    subjectKind: "order",
    envelope: {
      messageId: `order-ENT-${i.toString().padStart(9, "0")}`,
      fromZone: "enterprise",
      toZone: "plant-a",
      producedAtUnixMs: 1_700_000_000_000 + i,
      correlationId: "",
      causationId: "",
      labels: {},
      objectMediaType: "",
      objectSchema: "",
    },
    fact: {
      subject: `order:ENT-${i}`,
      predicate: "order_created",
      objectJson: `{"n":${i},"pad":"${"x".repeat(120)}"}`,
    },
    digest: `sha256:${i.toString(16).padStart(64, "0")}`,
    storedAtUnixMs: 1_700_000_000_000 + i,
  };
}

export async function measureIdempotencyMemory(
  n: number,
): Promise<Array<{ mode: string; bytesPerFact: number; factsPerSecond: number }>> {
  const results: Array<{ mode: string; bytesPerFact: number; factsPerSecond: number }> = [];
  for (const mode of ["index", "window"] as const) {
    const server = await startNatsServer();
    const nc = await connect({ servers: server.url });
    try {
      const jsm = await jetstreamManager(nc);
      const spec: CategorySpec = {
        name: "operational",
        maxAgeMs: 0,
        maxBytes: -1,
        maxMsgs: -1,
        maxMsgBytes: -1,
        replicas: 1,
        storage: "file",
        dedup: mode,
        duplicateWindowMs: 120_000,
      };
      await provisionStoreBuffers(jsm, [spec], silentLogger);
      const store = new JetStreamStoreBuffer({
        jetstream: () => ({ publisher: new PipelinedPublisher(nc), jsm }),
        categories: [spec],
        publishTimeoutMs: 30_000,
        isConnected: () => true,
        fillPercent: () => 0,
      });
      // Warm up the server's allocator and our code paths before the baseline.
      await store.append(Array.from({ length: 1000 }, (_, i) => factRecord(-1 - i, "operational")));
      await new Promise((r) => setTimeout(r, 500));
      const before = rssBytes(server.pid);
      const started = performance.now();
      const batch = 500;
      for (let i = 0; i < n; i += batch) {
        await store.append(
          Array.from({ length: Math.min(batch, n - i) }, (_, j) => factRecord(i + j, "operational")),
        );
      }
      const seconds = (performance.now() - started) / 1000;
      await new Promise((r) => setTimeout(r, 1000));
      const after = rssBytes(server.pid);
      results.push({
        mode,
        bytesPerFact: Math.round((after - before) / n),
        factsPerSecond: Math.round(n / seconds),
      });
    } finally {
      await nc.close();
      await server.stop();
    }
  }
  return results;
}
