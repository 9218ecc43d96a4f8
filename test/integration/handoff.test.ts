import { Code, ConnectError } from "@connectrpc/connect";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Mesh, type MeshZoneHandle, startMesh } from "../fixtures/mesh.js";
import { clientFor, eventually } from "../fixtures/test-node.js";

let mesh: Mesh;
beforeAll(async () => {
  mesh = await startMesh(["enterprise", "plant-a"]);
});
afterAll(async () => mesh?.stop());

const zone = (name: string) => mesh.zones[name] as MeshZoneHandle;
const app = (name: string) => clientFor(zone(name).node.url, mesh.ca, zone(name).app);

const fact = (from: string, to: string, id: string, category = "operational") => ({
  envelope: { messageId: id, fromZone: from, toZone: to, producedAtUnixMs: BigInt(Date.now()) },
  fact: { subject: `order:${id}`, predicate: "order_created", objectJson: JSON.stringify({ id }) },
  category,
});

async function fetchAll(name: string, consumer: string, expected: number) {
  const client = app(name);
  let facts: Awaited<ReturnType<typeof client.fetchFacts>>["facts"] = [];
  await eventually(
    async () => {
      facts = (await client.fetchFacts({ consumerName: consumer, limit: 1000, waitMs: 200 })).facts;
      return facts.length >= expected;
    },
    20_000,
    `${expected} facts at ${name}/${consumer}`,
  );
  return facts;
}

describe("cross-zone handoff", () => {
  it("moves facts appended in one zone to the other's forward buffer, in order, both ways", async () => {
    const ids = Array.from({ length: 30 }, (_, i) => `ingress-${i}`);
    for (const id of ids) await app("enterprise").appendFact(fact("enterprise", "plant-a", id));
    await app("plant-a").appendFact(fact("plant-a", "enterprise", "egress-1", "audit"));

    const atPlant = await fetchAll("plant-a", "operational-reader", 30);
    expect(atPlant.map((f) => f.envelope?.messageId)).toEqual(ids);
    expect(atPlant[0]).toMatchObject({
      category: "operational",
      envelope: { fromZone: "enterprise", toZone: "plant-a" },
    });
    expect(atPlant[0]?.fact?.objectJson).toBe('{"id":"ingress-0"}');
    const atEnterprise = await fetchAll("enterprise", "audit-reader", 1);
    expect(atEnterprise[0]?.envelope?.messageId).toBe("egress-1");
  });

  it("answers stored_records with each fact as stored, the same facts the default form gives", async () => {
    const client = app("plant-a");
    const asFacts = await client.fetchFacts({ consumerName: "operational-reader", limit: 5 });
    const asRecords = await client.fetchFacts({
      consumerName: "operational-reader",
      limit: 5,
      storedRecords: true,
    });
    expect(asRecords.facts).toEqual([]);
    expect(asRecords.records.map((r) => r.offset)).toEqual(asFacts.facts.map((f) => f.offset));
    const decoded = asRecords.records.map((r) => JSON.parse(new TextDecoder().decode(r.json)));
    expect(decoded.map((d) => [d.envelope.message_id, d.fact.object_json, d.category])).toEqual(
      asFacts.facts.map((f) => [f.envelope?.messageId, f.fact?.objectJson, f.category]),
    );
    // A forward-buffer record is the record the source zone stores, byte for byte.
    const plantNc = await connect({ servers: zone("plant-a").nats.url });
    const entNc = await connect({ servers: zone("enterprise").nats.url });
    try {
      const [plantJsm, entJsm] = await Promise.all([jetstreamManager(plantNc), jetstreamManager(entNc)]);
      for (const r of asRecords.records) {
        const forward = await plantJsm.streams.getMessage("forward_operational", { seq: Number(r.offset) });
        expect(forward?.header.get("Bsfg-Source-Zone")).toBe("enterprise");
        const source = Number(forward?.header.get("Bsfg-Source-Offset"));
        const stored = await entJsm.streams.getMessage("facts_operational", { seq: source });
        expect(Buffer.compare(r.json, stored?.data as Uint8Array), `offset ${r.offset}`).toBe(0);
      }
    } finally {
      await Promise.all([plantNc.close(), entNc.close()]);
    }
    // Binary answers carry hand-encoded records, JSON ones the generated encoding: all say the same.
    for (const protocol of ["grpc", "grpc-web", "connect-http1"] as const) {
      const other = clientFor(zone("plant-a").node.url, mesh.ca, zone("plant-a").app, protocol);
      const res = await other.fetchFacts({
        consumerName: "operational-reader",
        limit: 5,
        storedRecords: true,
      });
      expect({ protocol, records: res.records, cursor: res.cursor }).toEqual({
        protocol,
        records: asRecords.records,
        cursor: asRecords.cursor,
      });
    }
  });

  it("returns the same facts until confirmed, then continues strictly after the cursor", async () => {
    const client = app("plant-a");
    const first = await client.fetchFacts({ consumerName: "operational-reader", limit: 5 });
    const again = await client.fetchFacts({ consumerName: "operational-reader", limit: 5 });
    expect(again.facts.map((f) => f.offset)).toEqual(first.facts.map((f) => f.offset));
    const last = first.facts.at(-1)?.offset ?? 0n;
    expect(
      (await client.confirmReceipt({ consumerName: "operational-reader", offset: last })).cursorAdvancedTo,
    ).toBe(last);
    const next = await client.fetchFacts({ consumerName: "operational-reader", limit: 5 });
    expect(next.cursor).toBe(last);
    expect(next.facts[0]?.offset).toBe(last + 1n);
    // Idempotent and never regressing.
    expect(
      (await client.confirmReceipt({ consumerName: "operational-reader", offset: 1n })).cursorAdvancedTo,
    ).toBe(last);
    const beyond = await client
      .confirmReceipt({ consumerName: "operational-reader", offset: 1_000_000n })
      .catch((e: unknown) => ConnectError.from(e));
    expect((beyond as ConnectError).code).toBe(Code.FailedPrecondition);
  });

  it("long-polls: a waiting fetch returns as soon as a fact arrives", async () => {
    const client = app("enterprise");
    const drained = await fetchAll("enterprise", "audit-reader", 1);
    await client.confirmReceipt({ consumerName: "audit-reader", offset: drained.at(-1)?.offset ?? 0n });
    const waiting = client.fetchFacts({ consumerName: "audit-reader", limit: 10, waitMs: 20_000 });
    await app("plant-a").appendFact(fact("plant-a", "enterprise", "egress-2", "audit"));
    const res = await waiting;
    expect(res.facts.map((f) => f.envelope?.messageId)).toEqual(["egress-2"]);
  });

  it("refuses unknown consumers, other principals and peer identities that are not the configured node", async () => {
    const unknown = await app("plant-a")
      .fetchFacts({ consumerName: "nope" })
      .catch((e: unknown) => ConnectError.from(e));
    expect((unknown as ConnectError).code).toBe(Code.NotFound);
    // The enterprise app identity is not a principal of plant-a's consumers (and from another zone's CA view).
    const peerConsumer = await app("enterprise")
      .fetchFacts({ consumerName: "peer.plant-a.operational" })
      .catch((e: unknown) => ConnectError.from(e));
    expect((peerConsumer as ConnectError).code).toBe(Code.PermissionDenied);
  });

  it("reports gates, imports, cursors and backlogs on /status and /metrics", async () => {
    await eventually(
      async () => {
        const status = (await (await fetch(`${zone("plant-a").node.adminUrl}/status`)).json()) as {
          gates: Record<string, { state: string }>;
        };
        return status.gates.enterprise?.state === "open";
      },
      20_000,
      "gate open",
    );
    const metrics = await (await fetch(`${zone("plant-a").node.adminUrl}/metrics`)).text();
    expect(metrics).toMatch(/bsfg_gate_state\{peer="enterprise",state="open",zone="plant-a"\} 1/);
    expect(metrics).toMatch(
      /bsfg_replication_lag_high_watermark\{peer="enterprise",category="operational",zone="plant-a"\} [1-9]/,
    );
    const enterprise = await (await fetch(`${zone("enterprise").node.adminUrl}/metrics`)).text();
    expect(enterprise).toMatch(
      /bsfg_fetch_requests_total\{consumer="peer.plant-a.operational",category="operational",peer="plant-a",zone="enterprise"\} [1-9]/,
    );
    expect(enterprise).toMatch(/bsfg_confirm_requests_total\{consumer="peer.plant-a.operational"/);
  });
});

describe("shutdown", () => {
  it("answers a parked long-poll at once when the node starts draining", async () => {
    const waiting = app("enterprise")
      .fetchFacts({ consumerName: "telemetry-reader", limit: 10, waitMs: 25_000 })
      .then(
        (res) => ({ facts: res.facts.length, at: Date.now() }),
        (error: unknown) => ({ facts: -1, at: Date.now(), error: String(error) }),
      );
    await new Promise((r) => setTimeout(r, 300));
    const stopping = Date.now();
    await mesh.restart("enterprise");
    const outcome = await waiting;
    // Answered (empty) long before its 25 s wait: the drain ended it instead of waiting it out.
    expect(outcome.facts).toBe(0);
    expect(outcome.at - stopping).toBeLessThan(20_000);
  });
});
