import { type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CategorySpec } from "../../src/adapters/jetstream/category-spec.js";
import { provisionStoreBuffers } from "../../src/adapters/jetstream/provisioning.js";
import { silentLogger } from "../../src/ports/logger.js";
import { categorySpec } from "../fixtures/category-spec.js";
import { type NatsServerHandle, startNatsServer } from "../fixtures/nats-server.js";

const spec = (overrides: Partial<CategorySpec> = {}): CategorySpec =>
  categorySpec("operational", { maxBytes: 32 * 1024 * 1024, ...overrides });

let server: NatsServerHandle;
let nc: NatsConnection;
let jsm: JetStreamManager;

beforeAll(async () => {
  server = await startNatsServer();
  nc = await connect({ servers: server.url });
  jsm = await jetstreamManager(nc);
});

afterAll(async () => {
  await nc?.close();
  await server?.stop();
});

describe("provisionStoreBuffers", () => {
  it("creates facts_<category> with discard new and the zone-wide index stream", async () => {
    const actions = await provisionStoreBuffers(jsm, [spec()], silentLogger);
    expect(Object.fromEntries(actions)).toEqual({ facts_operational: "created", bsfg_index: "created" });
    const { config } = await jsm.streams.info("facts_operational");
    expect(config).toMatchObject({
      subjects: ["facts.operational.>"],
      discard: "new",
      retention: "limits",
      storage: "file",
      max_bytes: 32 * 1024 * 1024,
      max_age: 86_400_000 * 1_000_000,
    });
    expect((await jsm.streams.info("bsfg_index")).config).toMatchObject({
      subjects: ["bsfg.index.>"],
      discard: "new",
    });
  });

  it("is idempotent: a second run changes nothing", async () => {
    const actions = await provisionStoreBuffers(jsm, [spec()], silentLogger);
    expect([...actions.values()]).toEqual(["unchanged", "unchanged"]);
  });

  it("applies a changed max_age on the next run and keeps the data", async () => {
    await nc.request("facts.operational.plant-a.order.x", new Uint8Array(1)).catch(() => undefined);
    const before = (await jsm.streams.info("facts_operational")).state.messages;
    const actions = await provisionStoreBuffers(jsm, [spec({ maxAgeMs: 3_600_000 })], silentLogger);
    expect(actions.get("facts_operational")).toBe("updated");
    const info = await jsm.streams.info("facts_operational");
    expect(info.config.max_age).toBe(3_600_000 * 1_000_000);
    expect(info.state.messages).toBe(before);
  });

  it("fails with a clear error naming the stream when it cannot be reconciled", async () => {
    await expect(
      provisionStoreBuffers(jsm, [spec({ storage: "memory", maxAgeMs: 3_600_000 })], silentLogger),
    ).rejects.toThrow(/^stream facts_operational cannot be reconciled with the configuration: /);
  });
});
