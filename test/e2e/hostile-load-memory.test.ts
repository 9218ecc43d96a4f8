import { readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import http2 from "node:http2";
import { join } from "node:path";
import { type Client, Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BoundaryService } from "../../src/gen/bsfg/v1/boundary_pb.js";
import { type NatsServerHandle, startNatsServer } from "../fixtures/nats-server.js";
import { type Daemon, startDaemon } from "../fixtures/spawn-bsfg.js";
import { clientFor } from "../fixtures/test-node.js";
import { createTestPki, type TestPki } from "../fixtures/test-pki.js";

// The hostile mix (many concurrent streams, oversized messages, garbage and
// malformed bodies) against `bsfg serve` as a real process: its resident
// memory stays under a generous bound and it still serves a normal append.
//
// The bound: the idle node is ~150 MiB (sources compiled in-process); under
// this load the per-stream state of 1,600 concurrent streams, the request
// budget (32 MiB) and allocator churn add ~200 MiB. Without the request
// budget the same load took the node to ~550 MiB (an all-oversized one past
// 870 MiB), so the bound tells the two apart.

const RSS_BOUND_BYTES = 512 * 1024 ** 2;
const CONNECTIONS = 4;
const STREAMS_PER_CONNECTION = 400;
const ROUNDS = 4;

let nats: NatsServerHandle;
let pki: TestPki;
let daemon: Daemon;

beforeAll(async () => {
  [nats, pki] = await Promise.all([startNatsServer(), createTestPki()]);
  const config = join(pki.dir, "hostile.yaml");
  await writeFile(
    config,
    `zone: enterprise
role: external
listen: { rpc: "127.0.0.1:0", admin: "127.0.0.1:0" }
tls: { ca: ${pki.ca}, cert: ${pki.node.cert}, key: ${pki.node.key} }
nats: { servers: ["${nats.url}"] }
categories:
  operational: { max_age: 1d, max_bytes: 256MiB }
principals:
  erp: { append: [operational] }
peers:
  plant-a: { identity: plant-a-bsfg, export: [operational] }
limits: { max_request_bytes: 256KiB, max_inflight_requests: 1000, max_inflight_request_bytes: 32MiB, max_session_memory: 16MiB }
shutdown_timeout: 10s
log_level: info
`,
  );
  daemon = await startDaemon(config);
  for (let ready = false; !ready; ) {
    ready = await fetch(`${daemon.adminUrl}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (!ready) await new Promise((r) => setTimeout(r, 100));
  }
});

afterAll(async () => {
  daemon?.child.kill("SIGTERM");
  await daemon?.exited;
  await nats?.stop();
});

function rssBytes(pid: number): number {
  const line = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (line === null) throw new Error(`no VmRSS for ${pid}`);
  return Number(line[1]) * 1024;
}

const GARBAGE = Buffer.from([0xff, 0xff, 0xff, 0x0f, 0x01, 0x02]);
const OVERSIZED = Buffer.alloc(300 * 1024, 0x41);

/** One hostile request on a raw HTTP/2 session; resolves with the status or the reset, never rejects. */
function hostile(session: http2.ClientHttp2Session, i: number): Promise<string> {
  // Half of them oversized without a content-length, the costliest kind: the node must read
  // max_request_bytes of each before it can tell.
  const oversized = { type: "application/json", body: OVERSIZED };
  const kinds = [
    { type: "application/proto", body: GARBAGE },
    oversized,
    { type: "application/json", body: Buffer.from('{"envelope": {"messageId": 5') },
    oversized,
    { type: "application/grpc", body: Buffer.concat([Buffer.from([0, 0, 0, 0, GARBAGE.length]), GARBAGE]) },
    oversized,
    {
      type: "application/json",
      body: Buffer.from(
        JSON.stringify({ envelope: { messageId: `h-${i}` }, fact: { objectJson: "[".repeat(5000) } }),
      ),
    },
    oversized,
  ];
  const kind = kinds[i % kinds.length] as (typeof kinds)[number];
  return new Promise((resolve) => {
    const stream = session.request({
      ":method": "POST",
      ":path": "/bsfg.v1.BoundaryService/AppendFact",
      "content-type": kind.type,
      ...(kind.type === "application/grpc" && { te: "trailers" }),
    });
    let status = "none";
    stream.on("response", (h) => {
      status = String(h[":status"]);
      if (h["grpc-status"] !== undefined) status = `grpc-status ${String(h["grpc-status"])}`;
    });
    stream.on("trailers", (t) => {
      status = `grpc-status ${String(t["grpc-status"])}`;
    });
    stream.on("error", () => {});
    stream.on("close", () => resolve(stream.rstCode === 0 ? status : `reset ${stream.rstCode}`));
    stream.resume();
    stream.end(kind.body);
  });
}

/** A well-behaved producer: retries resource_exhausted (back-pressure) after a pause. */
async function appendRetryingBackPressure(
  client: Client<typeof BoundaryService>,
  id: string,
): Promise<string> {
  for (;;) {
    try {
      await client.appendFact({
        envelope: { messageId: id, fromZone: "enterprise", toZone: "plant-a", producedAtUnixMs: 1n },
        fact: { subject: "order:1", predicate: "created", objectJson: '{"n":1}' },
      });
      return "ok";
    } catch (error) {
      if (ConnectError.from(error).code !== Code.ResourceExhausted) return `append failed: ${String(error)}`;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

describe("memory under hostile load", () => {
  it("keeps the node's RSS under the bound and still serves a normal append afterwards", async () => {
    const pid = daemon.child.pid as number;
    const before = rssBytes(pid);
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rssBytes(pid));
    }, 50);
    const valid = clientFor(daemon.rpcUrl, pki.ca, pki.clients.erp);
    const outcomes = new Map<string, number>();
    try {
      for (let round = 0; round < ROUNDS; round++) {
        const sessions = Array.from({ length: CONNECTIONS }, () =>
          http2.connect(daemon.rpcUrl, {
            ca: readFileSync(pki.ca),
            cert: readFileSync(pki.clients.erp.cert),
            key: readFileSync(pki.clients.erp.key),
            // The attacker's side must not be what limits the attack (Node's client default is 10 MB).
            maxSessionMemory: 1024,
          }),
        );
        for (const s of sessions) s.on("error", () => {});
        const results = await Promise.all([
          ...sessions.flatMap((session, c) =>
            Array.from({ length: STREAMS_PER_CONNECTION }, (_, i) =>
              hostile(session, round * 100_000 + c * STREAMS_PER_CONNECTION + i),
            ),
          ),
          // Well-formed appends interleaved with the hostile traffic, on their own connection.
          ...Array.from({ length: 100 }, (_, i) => appendRetryingBackPressure(valid, `mem-${round}-${i}`)),
        ]);
        for (const r of results) outcomes.set(r, (outcomes.get(r) ?? 0) + 1);
        for (const s of sessions) s.close();
        peak = Math.max(peak, rssBytes(pid));
      }
    } finally {
      clearInterval(sampler);
    }
    // Every hostile request was answered with a client error or reset, never a success or a server error.
    expect(
      [...outcomes.keys()].filter((k) => /^(2\d\d|5\d\d)$|grpc-status (0|13)$|append failed/.test(k)),
    ).toEqual([]);
    expect(outcomes.get("ok")).toBe(100 * ROUNDS);
    expect(
      peak,
      `RSS ${before} → peak ${peak} bytes; ${JSON.stringify(Object.fromEntries(outcomes))}`,
    ).toBeLessThan(RSS_BOUND_BYTES);
    expect(daemon.child.exitCode).toBeNull();
    const after = await valid.appendFact({
      envelope: { messageId: "mem-after", fromZone: "enterprise", toZone: "plant-a", producedAtUnixMs: 1n },
      fact: { subject: "order:1", predicate: "created", objectJson: "{}" },
    });
    expect(after.duplicate).toBe(false);
    const metrics = await (await fetch(`${daemon.adminUrl}/metrics`)).text();
    const resident = Number(/^process_resident_memory_bytes(?:\{[^}]*\})? (\d+)/m.exec(metrics)?.[1]);
    expect(resident).toBeGreaterThan(0);
    expect(resident).toBeLessThan(RSS_BOUND_BYTES);
  });
});
