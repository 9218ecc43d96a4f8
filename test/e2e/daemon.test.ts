import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { jetstreamManager, StorageType } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type NatsServerHandle, startNatsServer } from "../fixtures/nats-server.js";
import { runBsfg, startDaemon } from "../fixtures/spawn-bsfg.js";
import { clientFor, eventually } from "../fixtures/test-node.js";
import { createTestPki, type TestPki } from "../fixtures/test-pki.js";

let nats: NatsServerHandle;
let pki: TestPki;

function configYaml(natsUrl: string, extra = ""): string {
  return `zone: enterprise
role: external
listen: { rpc: "127.0.0.1:0", admin: "127.0.0.1:0" }
tls: { ca: ${pki.ca}, cert: ${pki.node.cert}, key: ${pki.node.key} }
nats: { servers: ["${natsUrl}"] }
categories:
  operational: { max_age: 1d, max_bytes: 64MiB }
principals:
  erp: { append: [operational] }
peers:
  plant-a: { identity: plant-a-bsfg, export: [operational] }
shutdown_timeout: 10s
${extra}`;
}

async function writeConfig(name: string, text: string): Promise<string> {
  const path = join(pki.dir, name);
  await writeFile(path, text);
  return path;
}

beforeAll(async () => {
  [nats, pki] = await Promise.all([startNatsServer(), createTestPki()]);
});

afterAll(async () => {
  await nats?.stop();
});

describe("bsfg validate", () => {
  it("accepts a good config with exit 0", async () => {
    const result = await runBsfg([
      "validate",
      "--config",
      await writeConfig("good.yaml", configYaml(nats.url)),
    ]);
    expect(result.stdout).toContain("ok (zone enterprise, role external, 1 categories, 1 peers)");
    expect(result.code).toBe(0);
  });

  it("prints every problem with its path and exits non-zero", async () => {
    const bad = await writeConfig(
      "bad.yaml",
      `zone: Enterprise\nrole: outside\ntls: { ca: /nope/ca.pem, cert: c, key: k }\nnats: { servers: [http://x] }\ncategories: { operational: { max_age: soon } }\n`,
    );
    const result = await runBsfg(["validate", "--config", bad]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("zone: must be lower-case");
    expect(result.stderr).toContain('role: Invalid option: expected one of "external"|"internal"');
    expect(result.stderr).toContain("nats.servers.0: must be a nats:// or tls:// URL");
    expect(result.stderr).toContain('categories.operational.max_age: "soon" is not a duration');
  });

  it("reports referenced files that do not exist", async () => {
    const text = configYaml(nats.url).replace(pki.node.key, "/nonexistent/key.pem");
    const result = await runBsfg(["validate", "--config", await writeConfig("missing.yaml", text)]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('tls.key: file "/nonexistent/key.pem" does not exist or is not readable');
  });

  it("applies BSFG__ environment overrides", async () => {
    const path = await writeConfig("env.yaml", configYaml(nats.url));
    const result = await runBsfg(["validate", "--config", path], { BSFG__ROLE: "sideways" });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("role: Invalid option");
  });
});

describe("bsfg serve and bsfg append", () => {
  it("serves appends from the CLI, answers retries idempotently, and drains on SIGTERM with exit 0", async () => {
    const daemon = await startDaemon(await writeConfig("serve.yaml", configYaml(nats.url)));
    await eventually(async () => (await fetch(`${daemon.adminUrl}/readyz`)).status === 200, 20_000, "ready");
    const clientArgs = [
      "--node",
      daemon.rpcUrl,
      "--ca",
      pki.ca,
      "--cert",
      pki.clients.erp.cert,
      "--key",
      pki.clients.erp.key,
    ];
    const append = (id: string, object = '{"total": 1}') =>
      runBsfg([
        "append",
        ...clientArgs,
        "--from-zone",
        "enterprise",
        "--to-zone",
        "plant-a",
        "--subject",
        "order:ENT-9",
        "--predicate",
        "order_created",
        "--object",
        object,
        "--message-id",
        id,
        "--json",
      ]);
    const first = await append("cli-1");
    expect(first.code).toBe(0);
    const firstJson = JSON.parse(first.stdout) as { offset: string; duplicate: boolean };
    expect(firstJson).toMatchObject({ message_id: "cli-1", category: "operational", duplicate: false });
    expect(JSON.parse((await append("cli-1")).stdout)).toMatchObject({
      offset: firstJson.offset,
      duplicate: true,
    });
    const conflict = await append("cli-1", '{"total": 2}');
    expect(conflict.code).toBe(1);
    expect(JSON.parse(conflict.stdout)).toMatchObject({ error: { code: "already_exists" } });

    // SIGTERM under continuous load: every append either completes durably
    // or is refused as unavailable, and the process exits 0.
    const client = clientFor(daemon.rpcUrl, pki.ca, pki.clients.erp);
    const outcomes: string[] = [];
    let sent = 0;
    const lane = async () => {
      while (sent < 2000) {
        const i = sent++;
        const outcome = await client
          .appendFact({
            envelope: {
              messageId: `drain-${i}`,
              fromZone: "enterprise",
              toZone: "plant-a",
              producedAtUnixMs: 1n,
            },
            fact: { subject: "order:D", predicate: "drained", objectJson: "{}" },
          })
          .then(
            () => "ok",
            (error: unknown) => Code[ConnectError.from(error).code] ?? "?",
          );
        outcomes.push(outcome);
        if (outcome !== "ok") return;
      }
    };
    const lanes = Promise.all(Array.from({ length: 8 }, lane));
    await eventually(() => outcomes.length >= 50, 20_000, "load under way");
    daemon.child.kill("SIGTERM");
    await lanes;
    expect(await daemon.exited).toBe(0);
    expect(outcomes.filter((o) => o !== "ok" && o !== "Unavailable")).toEqual([]);
    expect(outcomes.filter((o) => o === "Unavailable").length).toBeGreaterThan(0);
    const nc = await connect({ servers: nats.url });
    const stored = (await (await jetstreamManager(nc)).streams.info("facts_operational")).state.messages;
    await nc.close();
    expect(stored).toBe(1 + outcomes.filter((o) => o === "ok").length);
    const messages = daemon.logs().map((l) => l.msg);
    expect(messages).toContain("draining");
    expect(messages.at(-1)).toBe("stopped");
  });

  it("re-reads its TLS files on SIGHUP and keeps serving", async () => {
    const daemon = await startDaemon(await writeConfig("sighup.yaml", configYaml(nats.url)));
    await eventually(async () => (await fetch(`${daemon.adminUrl}/readyz`)).status === 200, 20_000, "ready");
    daemon.child.kill("SIGHUP");
    await eventually(
      () => daemon.logs().some((l) => l.msg === "TLS material reloaded"),
      10_000,
      "reload logged",
    );
    expect((await fetch(`${daemon.adminUrl}/readyz`)).status).toBe(200);
    daemon.child.kill("SIGTERM");
    expect(await daemon.exited).toBe(0);
  });

  it("exits 1 naming the stream when provisioning cannot reconcile it", async () => {
    const other = await startNatsServer();
    try {
      const nc = await connect({ servers: other.url });
      await (await jetstreamManager(nc)).streams.add({
        name: "facts_operational",
        subjects: ["facts.operational.>"],
        storage: StorageType.Memory,
      });
      await nc.close();
      const daemon = await startDaemon(await writeConfig("conflict.yaml", configYaml(other.url)));
      expect(await daemon.exited).toBe(1);
      expect(daemon.stderr()).toMatch(/cannot start: stream facts_operational cannot be reconciled/);
    } finally {
      await other.stop();
    }
  });
});
