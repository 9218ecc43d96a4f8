import { Code, ConnectError } from "@connectrpc/connect";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { describe, expect, it } from "vitest";
import { clientFor, eventually, type Protocol } from "../fixtures/test-node.js";
import { useTestNode } from "../fixtures/use-test-node.js";

const t = useTestNode();

const fact = (
  messageId: string,
  objectJson = '{"total": 15000}',
  extra: { category?: string; subject?: string } = {},
) => ({
  envelope: { messageId, fromZone: "enterprise", toZone: "plant-a", producedAtUnixMs: BigInt(Date.now()) },
  fact: { subject: extra.subject ?? "order:ENT-1", predicate: "order_created", objectJson },
  category: extra.category ?? "",
});

async function connectError(promise: Promise<unknown>): Promise<ConnectError> {
  try {
    await promise;
  } catch (error) {
    return ConnectError.from(error);
  }
  throw new Error("expected the call to fail");
}

async function storedCount(stream: string): Promise<number> {
  const nc = await connect({ servers: t.nats.url });
  try {
    return (await (await jetstreamManager(nc)).streams.info(stream)).state.messages;
  } finally {
    await nc.close();
  }
}

describe("AppendFact over mTLS", () => {
  it.each<Protocol>(["connect", "grpc", "grpc-web", "connect-http1"])("appends over %s", async (protocol) => {
    const client = clientFor(t.running.url, t.pki.ca, t.pki.clients.erp, protocol);
    const res = await client.appendFact(fact(`proto-${protocol}`));
    expect(res.category).toBe("operational");
    expect(res.offset).toBeGreaterThan(0n);
    expect(res.duplicate).toBe(false);
  });

  it("answers an identical retry with the original offset, and a conflicting one with already_exists", async () => {
    const client = clientFor(t.running.url, t.pki.ca, t.pki.clients.erp);
    const first = await client.appendFact(fact("retry-1"));
    const before = await storedCount("facts_operational");
    const retry = await clientFor(t.running.url, t.pki.ca, t.pki.clients.erp, "grpc").appendFact(
      fact("retry-1", '{ "total" : 15000 }'),
    );
    expect(retry).toMatchObject({ offset: first.offset, duplicate: true, category: "operational" });
    const conflict = await connectError(client.appendFact(fact("retry-1", '{"total": 1}')));
    expect(conflict.code).toBe(Code.AlreadyExists);
    expect(conflict.rawMessage).toContain(`offset ${first.offset}`);
    expect(conflict.metadata.get("bsfg-existing-offset")).toBe(String(first.offset));
    expect(await storedCount("facts_operational")).toBe(before);
  });

  it("answers a retry of a recent append from memory, even while its nats-server is frozen", async () => {
    const client = clientFor(t.running.url, t.pki.ca, t.pki.clients.erp);
    const first = await client.appendFact(fact("recent-1"));
    process.kill(t.nats.pid, "SIGSTOP");
    try {
      const retry = await client.appendFact(fact("recent-1", '{ "total" : 15000 }'), { timeoutMs: 2000 });
      expect(retry).toMatchObject({ offset: first.offset, duplicate: true, category: "operational" });
      const conflict = await connectError(
        client.appendFact(fact("recent-1", '{"total": 2}'), { timeoutMs: 2000 }),
      );
      expect(conflict.code).toBe(Code.AlreadyExists);
      expect(conflict.metadata.get("bsfg-existing-offset")).toBe(String(first.offset));
    } finally {
      process.kill(t.nats.pid, "SIGCONT");
    }
  });

  it("stores exactly one fact for 50 concurrent appends of one id over separate connections", async () => {
    const before = await storedCount("facts_operational");
    const results = await Promise.all(
      Array.from({ length: 50 }, () =>
        clientFor(t.running.url, t.pki.ca, t.pki.clients.erp).appendFact(fact("race-1")),
      ),
    );
    expect(new Set(results.map((r) => r.offset)).size).toBe(1);
    expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
    expect(await storedCount("facts_operational")).toBe(before + 1);
  });

  it("names the field and reason of bad input with invalid_argument", async () => {
    const client = clientFor(t.running.url, t.pki.ca, t.pki.clients.erp);
    const bad = await connectError(
      client.appendFact({ ...fact("bad-1"), fact: { subject: "Order 1", predicate: "x", objectJson: "{}" } }),
    );
    expect(bad.code).toBe(Code.InvalidArgument);
    expect(bad.rawMessage).toMatch(/^fact\.subject: /);
    expect(bad.metadata.get("bsfg-field")).toBe("fact.subject");
    const noEnvelope = await connectError(
      client.appendFact({ fact: { subject: "order:1", predicate: "x", objectJson: "{}" } }),
    );
    expect(noEnvelope.rawMessage).toBe("envelope: is required");
  });

  it("denies principals without the right, and a spoofed from_zone, with permission_denied", async () => {
    const stranger = await connectError(
      clientFor(t.running.url, t.pki.ca, t.pki.clients.stranger).appendFact(fact("deny-1")),
    );
    expect(stranger.code).toBe(Code.PermissionDenied);
    expect(stranger.rawMessage).toContain('principal "stranger" may not append to category "operational"');
    const erp = clientFor(t.running.url, t.pki.ca, t.pki.clients.erp);
    const spoof = await connectError(
      erp.appendFact({
        ...fact("deny-2"),
        envelope: { ...fact("x").envelope, messageId: "deny-2", fromZone: "plant-a" },
      }),
    );
    expect(spoof.code).toBe(Code.PermissionDenied);
  });

  it("refuses clients without a certificate, from another CA, or with an expired certificate", async () => {
    for (const who of [t.pki.rogue, t.pki.expired]) {
      const error = await connectError(clientFor(t.running.url, t.pki.ca, who).appendFact(fact("tls-1")));
      expect([Code.Unavailable, Code.Canceled, Code.Internal, Code.Unknown]).toContain(error.code);
    }
    const { createConnectTransport } = await import("@connectrpc/connect-node");
    const { createClient } = await import("@connectrpc/connect");
    const { BoundaryService } = await import("../../src/gen/bsfg/v1/boundary_pb.js");
    const { readFileSync } = await import("node:fs");
    const anonymous = createClient(
      BoundaryService,
      createConnectTransport({
        baseUrl: t.running.url,
        httpVersion: "2",
        nodeOptions: { ca: readFileSync(t.pki.ca) },
      }),
    );
    const error = await connectError(anonymous.appendFact(fact("tls-2")));
    expect(error.rawMessage).toMatch(/certificate required|alert/i);
    await eventually(
      () => t.running.logs().some((l) => l.msg === "TLS handshake refused"),
      5000,
      "handshake log",
    );
  });

  it("appends a batch with per-item results in order", async () => {
    const client = clientFor(t.running.url, t.pki.ca, t.pki.clients.erp);
    const res = await client.appendFacts({
      items: [fact("batch-1"), fact("bad id"), fact("batch-2"), fact("batch-1")],
    });
    const [a, bad, b, again] = res.results;
    expect(a?.outcome.case).toBe("ok");
    expect(bad?.outcome).toMatchObject({ case: "error", value: { code: "invalid_argument" } });
    expect(bad?.outcome.value && "message" in bad.outcome.value ? bad.outcome.value.message : "").toMatch(
      /^items\[1\]\.envelope\.message_id/,
    );
    if (a?.outcome.case !== "ok" || b?.outcome.case !== "ok" || again?.outcome.case !== "ok")
      throw new Error("expected ok");
    expect(b.outcome.value.offset).toBe(a.outcome.value.offset + 1n);
    expect(again.outcome.value).toMatchObject({ offset: a.outcome.value.offset, duplicate: true });
  });

  it("logs one line per RPC with procedure, code, duration and principal, never the payload", async () => {
    await clientFor(t.running.url, t.pki.ca, t.pki.clients.erp).appendFact(
      fact("log-1", '{"secret_payload": 1}'),
    );
    const line = t.running
      .logs()
      .find((l) => l.msg === "rpc" && l.procedure === "AppendFact" && l.principal === "erp");
    expect(line).toMatchObject({ code: "ok", zone: "enterprise" });
    expect(typeof line?.durationMs).toBe("number");
    expect(JSON.stringify(t.running.logs())).not.toContain("secret_payload");
  });

  it("exports the append metrics on the admin listener", async () => {
    const text = await (await fetch(`${t.running.adminUrl}/metrics`)).text();
    expect(text).toMatch(/bsfg_append_requests_total\{procedure="AppendFact",zone="enterprise"\} \d+/);
    expect(text).toMatch(
      /bsfg_append_failures_total\{procedure="AppendFact",code="already_exists",zone="enterprise"\} [1-9]/,
    );
    expect(text).toMatch(/bsfg_append_latency_seconds_bucket\{/);
    expect(text).toMatch(/bsfg_append_queued_facts\{zone="enterprise"\} 0/);
    expect(text).toMatch(/bsfg_dedup_duplicates_total\{category="operational",zone="enterprise"\} [1-9]/);
    expect(text).toMatch(/bsfg_dedup_conflicts_total\{category="operational",zone="enterprise"\} [1-9]/);
    expect((await fetch(`${t.running.adminUrl}/livez`)).status).toBe(200);
    expect(await (await fetch(`${t.running.adminUrl}/readyz`)).json()).toEqual({ ready: true, reasons: [] });
  });

  it("counts every fact of a batch in the append metrics, and every refused one by code", async () => {
    const sample = async (series: string) => {
      const text = await (await fetch(`${t.running.adminUrl}/metrics`)).text();
      const line = text.split("\n").find((l) => l.startsWith(`${series} `));
      return Number(line?.split(" ").at(-1) ?? 0);
    };
    const submitted = 'bsfg_append_requests_total{procedure="AppendFacts",zone="enterprise"}';
    const refused =
      'bsfg_append_failures_total{procedure="AppendFacts",code="invalid_argument",zone="enterprise"}';
    const [submittedBefore, refusedBefore] = [await sample(submitted), await sample(refused)];
    await clientFor(t.running.url, t.pki.ca, t.pki.clients.erp).appendFacts({
      items: [fact("count-1"), fact("bad id 1"), fact("count-2"), fact("bad id 2"), fact("count-3")],
    });
    expect(await sample(submitted)).toBe(submittedBefore + 5);
    expect(await sample(refused)).toBe(refusedBefore + 2);
  });

  it("answers liveness and readiness", async () => {
    expect((await fetch(`${t.running.adminUrl}/livez`)).status).toBe(200);
    expect(await (await fetch(`${t.running.adminUrl}/readyz`)).json()).toEqual({ ready: true, reasons: [] });
  });
});
