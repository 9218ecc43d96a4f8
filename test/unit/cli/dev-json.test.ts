import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { resolveEndpoint } from "../../../src/cli/client-options.js";
import {
  type DevJson,
  devConsumerName,
  formatDevJson,
  loadDevJson,
  parseDevJson,
  resolveDevZone,
  selectDevZone,
} from "../../../src/cli/dev-json.js";

const zone = (name: string, port: number) => ({
  zone: name,
  role: name === "enterprise" ? "external" : "internal",
  url: `https://127.0.0.1:${port}`,
  admin_url: `http://127.0.0.1:${port + 1}`,
  ca: "/pki/ca.pem",
  cert: `/pki/${name}-app.pem`,
  key: `/pki/${name}-app-key.pem`,
  consumers: { operational: "operational-reader", audit: "audit-reader" },
});
const sample = { zones: [zone("enterprise", 9000), zone("plant-a", 9100)] };

function writeDevFile(content: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), "bsfg-devjson-"));
  const path = join(dir, "dev.json");
  writeFileSync(path, typeof content === "string" ? content : JSON.stringify(content));
  return path;
}

describe("parseDevJson", () => {
  it("accepts what bsfg dev writes and round-trips through formatDevJson", () => {
    const parsed = parseDevJson(JSON.stringify(sample), "/x/dev.json");
    expect(parsed).toEqual(sample);
    expect(parseDevJson(formatDevJson(parsed), "/x/dev.json")).toEqual(parsed);
  });

  it("resolves relative credential paths against the file's directory", () => {
    const relative = {
      zones: [{ ...zone("enterprise", 9000), ca: "pki/ca.pem", cert: "./a.pem", key: "../k.pem" }],
    };
    const entry = parseDevJson(JSON.stringify(relative), "/srv/dev/dev.json").zones[0];
    expect(entry).toMatchObject({ ca: "/srv/dev/pki/ca.pem", cert: "/srv/dev/a.pem", key: "/srv/k.pem" });
  });

  it("names the file and says it is not JSON", () => {
    expect(() => parseDevJson("{zones", "/x/dev.json")).toThrow(/^\/x\/dev\.json: not JSON \(/);
  });

  it("lists every schema problem with its path", () => {
    const bad = {
      zones: [{ ...zone("enterprise", 9000), url: "not a url", role: "sideways" }, { zone: "plant-a" }],
    };
    let message = "";
    try {
      parseDevJson(JSON.stringify(bad), "/x/dev.json");
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/^\/x\/dev\.json: not a bsfg dev file: /);
    expect(message).toContain("zones.0.role: Invalid option");
    expect(message).toContain("zones.0.url: Invalid URL");
    expect(message).toContain("zones.1.url: Invalid input");
    expect(message).toContain("zones.1.consumers: Invalid input");
  });

  it("refuses an empty zone list and duplicate zone names", () => {
    expect(() => parseDevJson('{"zones": []}', "d.json")).toThrow("zones: Too small");
    expect(() =>
      parseDevJson(JSON.stringify({ zones: [zone("plant-a", 1), zone("plant-a", 2)] }), "d.json"),
    ).toThrow("zones: zone names must be unique");
  });
});

describe("loadDevJson", () => {
  it("says the file cannot be read and hints at bsfg dev", () => {
    expect(() => loadDevJson("/nonexistent/dev.json")).toThrow(
      "/nonexistent/dev.json: cannot read (ENOENT); is `bsfg dev` running with this directory?",
    );
  });
});

describe("selectDevZone", () => {
  const dev = sample as DevJson;

  it("finds the zone", () => {
    expect(selectDevZone(dev, "plant-a", "d.json").url).toBe("https://127.0.0.1:9100");
  });

  it("without a zone, asks for --zone and lists the zones in the file", () => {
    expect(() => selectDevZone(dev, undefined, "d.json")).toThrow(
      "d.json: choose a zone with --zone (enterprise, plant-a)",
    );
  });

  it("with an unknown zone, lists the zones in the file", () => {
    expect(() => selectDevZone(dev, "plant-b", "d.json")).toThrow(
      'd.json: no zone "plant-b"; the zones in it are enterprise, plant-a',
    );
  });
});

describe("resolveDevZone", () => {
  it("reads --dev, else BSFG_DEV, and --zone, else BSFG_ZONE", () => {
    const path = writeDevFile(sample);
    expect(resolveDevZone({ dev: path, zone: "enterprise" }, {})?.zone).toBe("enterprise");
    expect(resolveDevZone({ zone: "plant-a" }, { BSFG_DEV: path })?.zone).toBe("plant-a");
    expect(resolveDevZone({}, { BSFG_DEV: path, BSFG_ZONE: "plant-a" })?.zone).toBe("plant-a");
    expect(resolveDevZone({ zone: "enterprise" }, { BSFG_DEV: path, BSFG_ZONE: "plant-a" })?.zone).toBe(
      "enterprise",
    );
  });

  it("is undefined without a file, and refuses --zone without one", () => {
    expect(resolveDevZone({}, {})).toBeUndefined();
    expect(() => resolveDevZone({ zone: "plant-a" }, {})).toThrow(
      "--zone needs --dev <dev.json> (or BSFG_DEV)",
    );
  });

  it("with --dev but no zone, fails listing the zones", () => {
    const path = writeDevFile(sample);
    expect(() => resolveDevZone({ dev: path }, {})).toThrow(
      `${path}: choose a zone with --zone (enterprise, plant-a)`,
    );
  });
});

describe("resolveEndpoint", () => {
  it("takes the node URL and the zone's app credentials from dev.json", () => {
    const path = writeDevFile(sample);
    const endpoint = resolveEndpoint({ dev: path, zone: "plant-a" }, {});
    expect(endpoint).toMatchObject({
      node: "https://127.0.0.1:9100",
      ca: "/pki/ca.pem",
      cert: "/pki/plant-a-app.pem",
      key: "/pki/plant-a-app-key.pem",
    });
    expect(endpoint.devZone?.zone).toBe("plant-a");
  });

  it("lets explicit flags win over dev.json, and dev.json over BSFG_NODE/CA/CERT/KEY", () => {
    const path = writeDevFile(sample);
    const env = { BSFG_NODE: "https://env:1", BSFG_CA: "/env/ca", BSFG_CERT: "/env/c", BSFG_KEY: "/env/k" };
    expect(
      resolveEndpoint({ dev: path, zone: "enterprise", node: "https://flag:2", key: "/flag/k" }, env),
    ).toMatchObject({
      node: "https://flag:2",
      ca: "/pki/ca.pem",
      cert: "/pki/enterprise-app.pem",
      key: "/flag/k",
    });
    expect(resolveEndpoint({}, env)).toEqual({
      node: "https://env:1",
      ca: "/env/ca",
      cert: "/env/c",
      key: "/env/k",
    });
  });

  it("names every way to give a missing setting", () => {
    expect(() => resolveEndpoint({ node: "https://x:1" }, {})).toThrow(
      "missing ca: pass --ca, set BSFG_CA, or use --dev <dev.json> --zone <zone>",
    );
  });
});

describe("devConsumerName", () => {
  it("maps a category through the zone's consumers and passes other names through", () => {
    const entry = sample.zones[1] as DevJson["zones"][number];
    expect(devConsumerName("operational", entry)).toBe("operational-reader");
    expect(devConsumerName("audit-reader", entry)).toBe("audit-reader");
    expect(devConsumerName("operational", undefined)).toBe("operational");
  });
});
