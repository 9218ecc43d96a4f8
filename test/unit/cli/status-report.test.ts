import { describe, expect, it } from "vitest";
import { formatStatus } from "../../../src/cli/status-report.js";
import { shortDuration } from "../../../src/cli/text-table.js";

const NOW = 1_800_000_000_000;

describe("formatStatus", () => {
  it("prints gates, imports and consumers as aligned tables", () => {
    const text = formatStatus(
      {
        zone: "plant-a",
        role: "internal",
        ready: true,
        reasons: [],
        gates: { enterprise: { state: "open", since_unix_ms: NOW - 65_000 } },
        imports: [
          {
            peer: "enterprise",
            category: "operational",
            high_water_mark: 42,
            lag_seconds: 1.6,
            last_progress_unix_ms: NOW - 2_000,
          },
        ],
        consumers: [
          {
            name: "operational-reader",
            kind: "local",
            category: "operational",
            cursor: 40,
            backlog_facts: 2,
            backlog_oldest_age_seconds: 7200,
            backlog_bytes_estimate: 2048,
            retention_headroom_seconds: 3600,
            retention_alarm: true,
            stalled: true,
            sampled_at_unix_ms: NOW - 1_000,
          },
          {
            name: "peer.enterprise.audit",
            kind: "peer",
            category: "audit",
            peer: "enterprise",
            cursor: 0,
            backlog_facts: 0,
            backlog_oldest_age_seconds: 0,
            sampled_at_unix_ms: 0,
          },
        ],
        categories: [
          {
            category: "operational",
            fill_percent: 12.5,
            facts: 40,
            bytes: 4096,
            max_age_seconds: 86_400,
            retention_headroom_seconds: 3600,
          },
        ],
        certificates: { node: { file: "/etc/bsfg/node.pem", expires_in_seconds: 90 * 86_400 } },
      },
      NOW,
    );
    expect(text.split("\n")).toEqual([
      "zone plant-a (internal): ready",
      "gates:",
      "  PEER        STATE  SINCE",
      "  enterprise  open   1m05s ago",
      "imports:",
      "  PEER        CATEGORY     HIGH-WATER MARK  LAG  LAST PROGRESS",
      "  enterprise  operational  42               2s   2s ago",
      "consumers:",
      "  NAME                   KIND   CATEGORY     PEER        CURSOR  BACKLOG  ~BYTES  OLDEST  HEADROOM  ALARMS             SAMPLED",
      "  operational-reader     local  operational  -           40      2        2048    2h00m   1h00m     RETENTION,STALLED  1s ago",
      "  peer.enterprise.audit  peer   audit        enterprise  0       0        -       -       ∞         -                  never",
      "store buffers:",
      "  CATEGORY     FILL   FACTS  BYTES  MAX AGE  HEADROOM",
      "  operational  12.5%  40     4096   1d00h    1h00m",
      "certificates:",
      "  CERT  EXPIRES IN  FILE",
      "  node  90d00h      /etc/bsfg/node.pem",
      "",
    ]);
  });

  it("says why a node is not ready and that a section is empty", () => {
    const text = formatStatus(
      { zone: "enterprise", role: "external", ready: false, reasons: ["zone NATS is not connected"] },
      NOW,
    );
    expect(text).toBe(
      "zone enterprise (external): not ready (zone NATS is not connected)\ngates: none\nimports: none\nconsumers: none\nstore buffers: none\ncertificates: none\n",
    );
  });

  it("refuses a document that is not a /status document", () => {
    expect(() => formatStatus({ hello: "world" }, NOW)).toThrow(/^unexpected \/status document: /);
  });
});

describe("shortDuration", () => {
  it("uses the two largest units", () => {
    expect([0, 59.4, 61, 3599, 3600, 86_399, 90_000].map(shortDuration)).toEqual([
      "0s",
      "59s",
      "1m01s",
      "59m59s",
      "1h00m",
      "23h59m",
      "1d01h",
    ]);
  });
});
