import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type NatsServerHandle, startNatsServer } from "../fixtures/nats-server.js";
import {
  clientFor,
  eventually,
  type RunningTestNode,
  startTestNode,
  testConfig,
} from "../fixtures/test-node.js";
import { createTestPki, type TestPki } from "../fixtures/test-pki.js";

let nats: NatsServerHandle;
let pki: TestPki;
let running: RunningTestNode;

beforeAll(async () => {
  [nats, pki] = await Promise.all([startNatsServer(), createTestPki()]);
  // Nobody fetches for plant-a: its backlog grows and stands still.
  running = await startTestNode(
    testConfig(nats.url, pki, {
      categories: { operational: { max_age: "20s", max_bytes: "1MiB" } },
      category_rules: {},
      principals: { erp: { append: ["operational"] } },
      peers: { "plant-a": { identity: "plant-a-bsfg", export: ["operational"] } },
      alarms: { retention_horizon: "19s", stall_after: "1s", fill_warn_percent: [1] },
    }),
  );
  await running.node.whenReady();
});
afterAll(async () => {
  await running?.node.stop();
  await nats?.stop();
});

const metric = (text: string, pattern: RegExp) => {
  const m = pattern.exec(text);
  return m === null ? undefined : Number(m[1]);
};

describe("operational metrics and alarms", () => {
  it("exports fill, certificate expiry and the JetStream view", async () => {
    const client = clientFor(running.url, pki.ca, pki.clients.erp);
    for (let i = 0; i < 20; i++) {
      await client.appendFact({
        envelope: { messageId: `ops-${i}`, fromZone: "enterprise", toZone: "plant-a", producedAtUnixMs: 1n },
        fact: {
          subject: "order:1",
          predicate: "created",
          objectJson: JSON.stringify({ pad: "x".repeat(500) }),
        },
      });
    }
    await eventually(
      async () => {
        const text = await (await fetch(`${running.adminUrl}/metrics`)).text();
        return (
          (metric(
            text,
            /bsfg_store_buffer_fill_percent\{category="operational",zone="enterprise"\} ([\d.]+)/,
          ) ?? 0) > 0
        );
      },
      10_000,
      "fill sampled",
    );
    const text = await (await fetch(`${running.adminUrl}/metrics`)).text();
    expect(metric(text, /bsfg_cert_expiry_seconds\{cert="node",zone="enterprise"\} (\d+)/)).toBeGreaterThan(
      300 * 86_400,
    );
    expect(metric(text, /bsfg_cert_expiry_seconds\{cert="ca",zone="enterprise"\} (\d+)/)).toBeGreaterThan(0);
    await eventually(
      async () =>
        (metric(
          await (await fetch(`${running.adminUrl}/metrics`)).text(),
          /js_num_streams\{zone="enterprise"\} (\d+)/,
        ) ?? 0) >= 3,
      15_000,
      "JetStream view",
    );
    expect(
      running.logs().some((l) => l.msg === "store buffer filling up" && l.category === "operational"),
    ).toBe(true);
  });

  it("raises the stall and retention alarms for a backlog nobody confirms, from durable state", async () => {
    const consumer =
      'consumer="peer.plant-a.operational",category="operational",peer="plant-a",zone="enterprise"';
    await eventually(
      async () => {
        const text = await (await fetch(`${running.adminUrl}/metrics`)).text();
        return (
          metric(text, new RegExp(`bsfg_handoff_stalled\\{${consumer}\\} (\\d)`)) === 1 &&
          metric(text, new RegExp(`bsfg_retention_alarm\\{${consumer}\\} (\\d)`)) === 1
        );
      },
      30_000,
      "stall and retention alarms",
    );
    const text = await (await fetch(`${running.adminUrl}/metrics`)).text();
    expect(metric(text, new RegExp(`bsfg_backlog_facts\\{${consumer}\\} (\\d+)`))).toBe(20);
    expect(
      metric(text, new RegExp(`bsfg_retention_headroom_seconds\\{${consumer}\\} ([-\\d.]+)`)),
    ).toBeLessThan(20);
    const status = (await (await fetch(`${running.adminUrl}/status`)).json()) as {
      consumers: Array<{
        name: string;
        backlog_facts: number;
        backlog_bytes_estimate: number | null;
        stalled: boolean;
        retention_alarm: boolean;
      }>;
      categories: Array<{
        category: string;
        fill_percent: number;
        facts: number;
        retention_headroom_seconds: number | null;
      }>;
      certificates: Record<string, { expires_in_seconds: number }>;
    };
    expect(status.consumers.find((c) => c.name === "peer.plant-a.operational")).toMatchObject({
      backlog_facts: 20,
      stalled: true,
      retention_alarm: true,
    });
    expect(status.categories.find((c) => c.category === "operational")?.facts).toBe(20);
    expect(
      status.categories.find((c) => c.category === "operational")?.retention_headroom_seconds,
    ).toBeLessThan(20);
    // 20 facts of a ~0.5 KiB payload each.
    expect(
      status.consumers.find((c) => c.name === "peer.plant-a.operational")?.backlog_bytes_estimate,
    ).toBeGreaterThan(20 * 500);
    expect(status.certificates.node?.expires_in_seconds).toBeGreaterThan(0);
    const messages = running.logs().map((l) => l.msg);
    expect(messages).toContain("handoff stalled: backlog but no progress");
    expect(messages).toContain("retention alarm: unconfirmed facts will reach max_age soon");
  });
});

describe("exposition format", () => {
  const promtool = spawnSync("sh", ["-c", "command -v promtool"]).status === 0;
  // CI installs Debian's prometheus package for promtool; without it there is nothing to run.
  it.skipIf(!promtool)("passes promtool check metrics", async () => {
    const text = await (await fetch(`${running.adminUrl}/metrics`)).text();
    const result = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
    expect(`${result.stdout}${result.stderr}`).toBe("");
    expect(result.status).toBe(0);
  });
});

describe("probes", () => {
  it("stays ready while the peer zone is unreachable: /readyz depends only on the zone's own NATS", async () => {
    const lonely = await startTestNode(
      testConfig(nats.url, pki, {
        listen: { rpc: "127.0.0.1:0", admin: "127.0.0.1:0" },
        peers: {
          "plant-a": {
            identity: "plant-a-bsfg",
            url: "https://127.0.0.1:1",
            export: ["operational"],
            import: ["operational"],
          },
        },
      }),
    );
    try {
      await lonely.node.whenReady();
      await eventually(
        async () => {
          const status = (await (await fetch(`${lonely.adminUrl}/status`)).json()) as {
            gates: Record<string, { state: string }>;
          };
          return status.gates["plant-a"]?.state === "closed";
        },
        10_000,
        "gate closed",
      );
      expect((await fetch(`${lonely.adminUrl}/readyz`)).status).toBe(200);
      expect((await fetch(`${lonely.adminUrl}/livez`)).status).toBe(200);
    } finally {
      await lonely.node.stop();
    }
  });
});
