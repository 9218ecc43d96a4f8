import { describe, expect, it } from "vitest";
import { categorySpecsOf, factLimitsOf, zonePolicyOf } from "../../../src/config/derive.js";
import { parseConfig } from "../../../src/config/load.js";

const minimal = `
zone: plant-a
role: internal
tls: { ca: /ca.pem, cert: /c.pem, key: /k.pem }
nats: { servers: [nats://127.0.0.1:4222] }
`;

function problems(text: string, env: Record<string, string> = {}): string[] {
  const result = parseConfig(text, env);
  if (result.ok) throw new Error("expected problems");
  return result.problems;
}

describe("parseConfig", () => {
  it("fills every default from a minimal file", () => {
    const result = parseConfig(minimal, {});
    if (!result.ok) throw new Error(result.problems.join("\n"));
    const c = result.config;
    expect(c.listen).toEqual({
      rpc: { host: "0.0.0.0", port: 9443 },
      admin: { host: "127.0.0.1", port: 9464 },
    });
    expect(Object.keys(c.categories)).toEqual(["operational", "audit", "documents", "telemetry"]);
    expect(c.categories.telemetry).toMatchObject({ dedup: "window", max_age: 3 * 86_400_000 });
    expect(c.categories.operational).toMatchObject({ dedup: "index", max_bytes: 1024 ** 3, replicas: 1 });
    expect(c.backpressure.fill_percent).toBe(80);
    expect(c.nats.request_timeout).toBe(5000);
  });

  it("parses durations and sizes with units", () => {
    const result = parseConfig(
      `${minimal}categories:\n  operational: { max_age: 36h, max_bytes: 512MiB, max_fact_bytes: 64KiB, duplicate_window: 90s }\n`,
      {},
    );
    if (!result.ok) throw new Error(result.problems.join("\n"));
    expect(result.config.categories.operational).toMatchObject({
      max_age: 36 * 3600_000,
      max_bytes: 512 * 1024 ** 2,
      max_fact_bytes: 64 * 1024,
      duplicate_window: 90_000,
    });
  });

  it("applies BSFG__ overrides by path, parsing values as YAML", () => {
    const result = parseConfig(minimal, {
      BSFG__NATS__SERVERS: "[nats://10.0.0.5:4222, nats://10.0.0.6:4222]",
      BSFG__LISTEN__RPC: "127.0.0.1:7443",
      BSFG__BACKPRESSURE__FILL_PERCENT: "90",
      BSFG_NODE: "https://ignored-client-setting",
    });
    if (!result.ok) throw new Error(result.problems.join("\n"));
    expect(result.config.nats.servers).toEqual(["nats://10.0.0.5:4222", "nats://10.0.0.6:4222"]);
    expect(result.config.listen.rpc).toEqual({ host: "127.0.0.1", port: 7443 });
    expect(result.config.backpressure.fill_percent).toBe(90);
  });

  it("reports every problem with its path", () => {
    const found = problems(
      "zone: Plant A\nrole: plant\nnats: { servers: [] }\ncategories: { operational: { max_age: 3x, replicas: 2 } }\nlisten: { rpc: nowhere }\n",
    );
    expect(found).toEqual(
      expect.arrayContaining([
        "zone: must be lower-case letters, digits and '-' (a DNS label)",
        expect.stringMatching(/^role: /),
        "tls: is required",
        expect.stringMatching(/^nats\.servers: /),
        expect.stringMatching(/^categories\.operational\.max_age: "3x" is not a duration/),
        expect.stringMatching(/^categories\.operational\.replicas: /),
        expect.stringMatching(/^listen\.rpc: "nowhere" is not host:port/),
      ]),
    );
  });

  it("checks references between sections", () => {
    const found = problems(
      `${minimal}default_category: nope\ncategory_rules: { order: ghost }\nprincipals: { erp: { append: [missing] } }\npeers: { enterprise: { identity: enterprise-bsfg, export: [phantom] }, plant-a: { identity: x } }\n`,
    );
    expect(found).toEqual(
      expect.arrayContaining([
        'default_category: unknown category "nope"',
        'category_rules.order: unknown category "ghost"',
        'principals.erp.append.0: unknown category "missing"',
        'peers.enterprise.export.0: unknown category "phantom"',
        "peers.plant-a: a zone cannot peer with itself",
      ]),
    );
  });

  it("rejects unknown keys (typos) instead of ignoring them", () => {
    expect(problems(`${minimal}backpresure: { fill_percent: 10 }\n`)).toEqual([
      expect.stringMatching(/backpresure/),
    ]);
  });

  it("reports YAML syntax errors and duplicate keys", () => {
    expect(problems("zone: a\nzone: b\n")[0]).toMatch(/^yaml: /);
    expect(problems("zone: [unclosed\n")[0]).toMatch(/^yaml: /);
  });
});

describe("derived views", () => {
  it("turns config into the zone policy, category specs and limits", () => {
    const result = parseConfig(
      `${minimal}principals: { erp: { append: [operational] } }\npeers: { enterprise: { identity: enterprise-bsfg, url: "https://e:9443", export: [audit], import: [operational] } }\n`,
      {},
    );
    if (!result.ok) throw new Error(result.problems.join("\n"));
    const policy = zonePolicyOf(result.config);
    expect(policy.zone).toBe("plant-a");
    expect(policy.peers.get("enterprise")?.exports.has("audit")).toBe(true);
    expect(policy.principals.get("erp")?.append.has("operational")).toBe(true);
    const specs = categorySpecsOf(result.config);
    expect(specs.find((s) => s.name === "telemetry")).toMatchObject({ dedup: "window", storage: "file" });
    expect(factLimitsOf(result.config)).toMatchObject({ maxObjectJsonBytes: 1024 ** 2, maxBatchItems: 1000 });
  });
});
