import { describe, expect, it } from "vitest";
import { rpcLimitsOf } from "../../../src/config/derive.js";
import { parseConfig } from "../../../src/config/load.js";
import { DEFAULT_RPC_LIMITS } from "../../../src/server/rpc-limits.js";

const minimal = `
zone: plant-a
role: internal
tls: { ca: /ca.pem, cert: /c.pem, key: /k.pem }
nats: { servers: [nats://127.0.0.1:4222] }
`;

describe("RPC listener limits in the config", () => {
  it("defaults to the server's own defaults, so existing configs keep their behaviour", () => {
    const result = parseConfig(minimal, {});
    if (!result.ok) throw new Error(result.problems.join("\n"));
    expect(rpcLimitsOf(result.config)).toEqual(DEFAULT_RPC_LIMITS);
  });

  it("takes units and env overrides", () => {
    const result = parseConfig(
      `${minimal}limits: { max_header_bytes: 8KiB, max_session_memory: 32MiB, handshake_timeout: 5s, idle_timeout: 10m }\n`,
      { BSFG__LIMITS__REQUEST_IDLE_TIMEOUT: "15s", BSFG__LIMITS__MAX_CONNECTIONS: "200" },
    );
    if (!result.ok) throw new Error(result.problems.join("\n"));
    expect(rpcLimitsOf(result.config)).toMatchObject({
      maxHeaderBytes: 8192,
      maxSessionMemoryBytes: 32 * 1024 ** 2,
      handshakeTimeoutMs: 5000,
      idleTimeoutMs: 600_000,
      requestIdleTimeoutMs: 15_000,
      maxConnections: 200,
    });
  });

  it("refuses limits that would break the node or protect nothing, naming each", () => {
    const result = parseConfig(
      `${minimal}limits: { max_header_bytes: 100, max_session_memory: 1KiB, handshake_timeout: 0, idle_timeout: 20s, request_idle_timeout: 10m, max_inflight_request_bytes: 1MiB }\nfetch: { max_wait: 30s }\n`,
      {},
    );
    if (result.ok) throw new Error("expected problems");
    expect(result.problems).toEqual(
      expect.arrayContaining([
        "limits.max_header_bytes: must be at least 1KiB",
        "limits.max_session_memory: must be at least 1MiB",
        "limits.handshake_timeout: must be at least 100ms",
        "limits.idle_timeout: must exceed fetch.max_wait, or parked long-polls are cut off",
        "limits.request_idle_timeout: must not exceed limits.request_timeout",
        "limits.max_inflight_request_bytes: must be at least limits.max_request_bytes",
      ]),
    );
  });
});
