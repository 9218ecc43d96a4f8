// Static checks of the deployable artifacts: docker-compose.yml, deploy/docker, deploy/nats,
// deploy/systemd, the example zone configs and the Grafana dashboard. Nothing is started here;
// test/integration/deploy-configs.test.ts runs the same files against real processes.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { collectDefaultMetrics, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { parseDocument } from "yaml";
import { PRODUCTION_NODE_OPTIONS } from "../../bench/production-node-options.js";
import { CURSOR_BUCKET } from "../../src/adapters/jetstream/buffer-subjects.js";
import type { CategorySpec } from "../../src/adapters/jetstream/category-spec.js";
import { REFERENCE_BUCKET } from "../../src/adapters/jetstream/kv-reference-registry.js";
import {
  forwardStreamConfig,
  indexStreamConfig,
  objectStreamConfig,
  storeStreamConfig,
} from "../../src/adapters/jetstream/provisioning.js";
import { type ConfigResult, parseConfig } from "../../src/config/load.js";
import type { Config } from "../../src/config/schema.js";

const REPO = join(import.meta.dirname, "../..");
const read = (path: string): string => readFileSync(join(REPO, path), "utf8");
const ZONES = ["enterprise", "plant-a"] as const;

function parseYaml(path: string): Record<string, unknown> {
  // Compose supports YAML merge keys (`<<: *anchor`).
  const doc = parseDocument(read(path), { merge: true, uniqueKeys: true });
  expect(doc.errors.map((e) => e.message)).toEqual([]);
  return doc.toJS() as Record<string, unknown>;
}

function okConfig(result: ConfigResult, what: string): Config {
  if (!result.ok) throw new Error(`${what}: ${result.problems.join("; ")}`);
  return result.config;
}

// ---- docker-compose.yml -----------------------------------------------------------------

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  networks?: string[] | Record<string, { aliases?: string[] } | null>;
  depends_on?: Record<string, { condition: string }>;
  network_mode?: string;
  stop_grace_period?: string;
}

const compose = parseYaml("docker-compose.yml") as {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
  networks?: Record<string, unknown>;
};
const services = compose.services;
const bind = (spec: string) => {
  const [source = "", target = "", mode] = spec.split(":");
  return { source, target, readOnly: mode === "ro" };
};
const networksOf = (s: ComposeService): string[] =>
  Array.isArray(s.networks) ? s.networks : Object.keys(s.networks ?? {});
/** `${VAR:-default}` → default. */
const composeDefault = (value: string | undefined): string | undefined =>
  /^\$\{[A-Z0-9_]+:-([^}]*)\}$/.exec(value ?? "")?.[1];
const seconds = (d: string): number => {
  const m = /^(\d+)(ms|s|m)$/.exec(d);
  if (!m) throw new Error(`unexpected duration ${d}`);
  const unit = { ms: 0.001, s: 1, m: 60 }[m[2] as "ms" | "s" | "m"];
  return Number(m[1]) * unit;
};

describe("docker-compose.yml", () => {
  const nodeServices = ZONES.map((z) => `${z}-bsfg`);
  const natsServices = ZONES.map((z) => `${z}-nats`);

  it("has cert-init plus a nats and a bsfg service per zone", () => {
    expect(Object.keys(services).sort()).toEqual(["cert-init", ...natsServices, ...nodeServices].sort());
  });

  it("pins every image: nats:2.9.10, and node:20 in the Dockerfile it builds", () => {
    for (const name of natsServices) expect(services[name]?.image).toBe("nats:2.9.10");
    for (const [name, s] of Object.entries(services)) {
      if (s.build === undefined) {
        expect(s.image, name).toMatch(/^[\w./-]+:[\w.-]+$/);
        expect(s.image, name).not.toMatch(/:latest$/);
        continue;
      }
      expect(existsSync(join(REPO, s.build.context, s.build.dockerfile)), `${name} Dockerfile`).toBe(true);
      const froms = [...read(join(s.build.context, s.build.dockerfile)).matchAll(/^FROM\s+(\S+)/gm)].map(
        (m) => m[1],
      );
      expect(froms.length).toBeGreaterThan(0);
      for (const from of froms) expect(from).toMatch(/^node:20(\.\d+)*-[\w.-]+$/);
    }
  });

  it("only references files that exist in the repository, and declared volumes and networks", () => {
    for (const [name, s] of Object.entries(services)) {
      for (const volume of s.volumes ?? []) {
        const { source } = bind(volume);
        if (source.startsWith(".") || source.startsWith("/")) {
          expect(existsSync(join(REPO, source)), `${name}: ${source}`).toBe(true);
        } else {
          expect(Object.keys(compose.volumes ?? {}), `${name}: volume ${source}`).toContain(source);
        }
      }
      for (const network of networksOf(s)) expect(Object.keys(compose.networks ?? {})).toContain(network);
    }
    // The cert-init script the image runs is part of the image.
    const entry = services["cert-init"]?.entrypoint ?? [];
    expect(entry.slice(0, 2)).toEqual(["node", "deploy/docker/cert-init.mjs"]);
    expect(existsSync(join(REPO, entry[1] as string))).toBe(true);
    expect(read("deploy/docker/Dockerfile")).toMatch(/^COPY deploy\/docker\/cert-init\.mjs /m);
  });

  it("publishes every host port once", () => {
    const hostPorts = Object.values(services).flatMap((s) =>
      (s.ports ?? []).map((p) => {
        const parts = p.split(":");
        return parts.length === 3 ? `${parts[0]}:${parts[1]}` : `0.0.0.0:${parts[0]}`;
      }),
    );
    const portsOnly = hostPorts.map((p) => p.split(":")[1]);
    expect(new Set(portsOnly).size).toBe(portsOnly.length);
    for (const zone of ZONES) {
      const published = (services[`${zone}-bsfg`]?.ports ?? []).map((p) => p.split(":").at(-1));
      expect(published.sort()).toEqual(["9443", "9464"]);
    }
  });

  it("runs each zone's nats-server from its deploy/nats config, read-only, with a named JetStream volume", () => {
    for (const zone of ZONES) {
      const s = services[`${zone}-nats`] as ComposeService;
      const config = s.command?.[s.command.indexOf("-c") + 1];
      const mount = (s.volumes ?? []).map(bind).find((v) => v.target === config);
      expect(mount).toEqual({ source: `./deploy/nats/${zone}.conf`, target: config, readOnly: true });
      const storeDir = /store_dir:\s*"([^"]+)"/.exec(read(`deploy/nats/${zone}.conf`))?.[1] ?? "";
      const data = (s.volumes ?? []).map(bind).find((v) => !v.source.startsWith("."));
      expect(data?.source).toBe(`${zone}-jetstream`);
      expect(storeDir.startsWith(`${data?.target}/`)).toBe(true);
      // Every variable the config references is set.
      for (const variable of read(`deploy/nats/${zone}.conf`).matchAll(/^\s*[a-z_]+:\s*\$([A-Z_]+)\s*$/gm)) {
        expect(Object.keys(s.environment ?? {}), variable[1]).toContain(variable[1]);
      }
      // A zone's NATS is on its own network only: the other zone cannot reach it.
      expect(networksOf(s)).toEqual([zone]);
    }
  });

  it("starts each node after cert-init completed and with its zone's nats, with a config that validates", () => {
    for (const zone of ZONES) {
      const s = services[`${zone}-bsfg`] as ComposeService;
      expect(s.depends_on?.["cert-init"]?.condition).toBe("service_completed_successfully");
      expect(Object.keys(s.depends_on ?? {})).toContain(`${zone}-nats`);
      const mounts = (s.volumes ?? []).map(bind);
      const config = mounts.find((v) => v.target === "/etc/bsfg/bsfg.yaml");
      expect(config).toEqual({
        source: `./deploy/${zone}.yaml`,
        target: "/etc/bsfg/bsfg.yaml",
        readOnly: true,
      });
      const parsed = okConfig(
        parseConfig(read(`deploy/${zone}.yaml`), s.environment ?? {}),
        `deploy/${zone}.yaml + compose environment`,
      );
      // NATS: this zone's server, reachable on a shared network.
      const natsHost = new URL(parsed.nats.servers[0] as string).hostname;
      expect(natsHost).toBe(`${zone}-nats`);
      expect(networksOf(s)).toContain(zone);
      // The password file cert-init writes for this zone, holding what this zone's nats-server gets.
      expect(parsed.nats.password_file).toBe(`/etc/bsfg/tls/${zone}-nats-password`);
      const variable = `${zone.toUpperCase().replaceAll("-", "_")}_NATS_PASSWORD`;
      expect(composeDefault(services["cert-init"]?.environment?.[variable])).toBeDefined();
      expect(services["cert-init"]?.environment?.[variable]).toBe(
        services[`${zone}-nats`]?.environment?.BSFG_NATS_PASSWORD,
      );
      // TLS files are in the pki volume cert-init fills.
      expect(mounts.find((v) => v.source === "pki")).toEqual({
        source: "pki",
        target: "/etc/bsfg/tls",
        readOnly: true,
      });
      for (const file of [parsed.tls.ca, parsed.tls.cert, parsed.tls.key])
        expect(file).toMatch(/^\/etc\/bsfg\/tls\//);
      // Peers: each peer URL names a node service both share a network with.
      for (const peer of Object.values(parsed.peers)) {
        const host = new URL(peer.url ?? "").hostname;
        const other = services[host];
        expect(other, `peer host ${host}`).toBeDefined();
        const shared = networksOf(s).filter((n) => networksOf(other as ComposeService).includes(n));
        expect(shared).toEqual(["boundary"]);
      }
      // The admin listener must leave the container to be published; the stop grace covers the drain.
      expect(parsed.listen.admin.host).toBe("0.0.0.0");
      expect(seconds(s.stop_grace_period ?? "10s")).toBeGreaterThan(parsed.shutdown_timeout / 1000);
    }
  });

  it("issues certificates for every identity the node configs name", () => {
    const env = services["cert-init"]?.environment ?? {};
    const zones = (env.BSFG_PKI_ZONES ?? "").split(" ");
    const clients = (env.BSFG_PKI_CLIENTS ?? "").split(" ");
    expect(zones.sort()).toEqual([...ZONES].sort());
    for (const zone of ZONES) {
      const config = okConfig(parseConfig(read(`deploy/${zone}.yaml`), {}), zone);
      for (const principal of Object.keys(config.principals)) expect(clients).toContain(principal);
    }
  });

  it("builds from a context that keeps exactly what the Dockerfile copies", () => {
    const ignore = read("deploy/docker/Dockerfile.dockerignore");
    const kept = [...ignore.matchAll(/^!(\S+)$/gm)].map((m) => m[1]);
    const copied = [...read("deploy/docker/Dockerfile").matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap(
      (m) => (m[1] as string).split(/\s+/),
    );
    for (const source of copied) expect(kept, source).toContain(source);
    expect(read("deploy/docker/Dockerfile")).toMatch(/^RUN npm ci\b/m);
    expect(read("deploy/docker/Dockerfile")).toMatch(/^RUN npm run build$/m);
    expect(read("deploy/docker/Dockerfile")).toMatch(
      /^CMD \["serve", "--config", "\/etc\/bsfg\/bsfg\.yaml"\]$/m,
    );
    expect(read("deploy/docker/Dockerfile")).toMatch(/^ENTRYPOINT \["node", "dist\/main\.js"\]$/m);
  });
});

// ---- deploy/nats ------------------------------------------------------------------------

const stripComments = (conf: string): string => conf.replace(/(^|\s)#.*$/gm, "$1");
const accountsBlock = (conf: string): string => conf.slice(conf.indexOf("accounts {"));

/** The quoted strings of `<direction>: { allow|deny: [...] }` of one user's permissions. */
function permissionList(
  conf: string,
  user: string,
  direction: "publish" | "subscribe",
  kind: "allow" | "deny",
) {
  const text = stripComments(conf);
  const start = text.indexOf(`user: ${user}\n`);
  expect(start, `user ${user}`).toBeGreaterThan(-1);
  const rest = text.slice(start);
  const userEnd = rest.indexOf("\n      }\n");
  const block = rest.slice(0, userEnd === -1 ? undefined : userEnd);
  const dir = block.slice(block.indexOf(`${direction}: {`));
  const m = new RegExp(`${kind}:\\s*\\[([^\\]]*)\\]`).exec(dir.slice(0, dir.indexOf("}")));
  return m ? [...(m[1] as string).matchAll(/"([^"]+)"/g)].map((x) => x[1] as string) : [];
}

/** Whether NATS subject pattern `a` matches every subject `p` matches. */
function covers(a: string, p: string): boolean {
  const at = a.split(".");
  const pt = p.split(".");
  for (let i = 0; i < at.length; i++) {
    const x = at[i];
    const y = pt[i];
    if (x === ">") return y !== undefined;
    if (y === undefined || y === ">") return false;
    if (x === "*") continue;
    if (x !== y) return false;
  }
  return at.length === pt.length;
}
const anyCovers = (list: readonly string[], subject: string) => list.some((a) => covers(a, subject));

describe("deploy/nats", () => {
  const single = ZONES.map((z) => `deploy/nats/${z}.conf`);
  const clusterNodes = [1, 2, 3].map((i) => `deploy/nats/cluster/zone-node-${i}.conf`);

  it("has no link between zones: no leafnodes or gateways, and cluster routes only in the cluster files", () => {
    for (const file of [...single, ...clusterNodes, "deploy/nats/cluster/accounts.conf"]) {
      const text = stripComments(read(file));
      expect(text, file).not.toMatch(/^\s*(leafnodes|leaf|gateway)\s*[:{]/m);
      if (!file.includes("/cluster/")) expect(text, file).not.toMatch(/^\s*cluster\s*[:{]/m);
    }
    for (const zone of ZONES) {
      expect(read(`deploy/nats/${zone}.conf`)).toMatch(new RegExp(`^\\s*domain: ${zone}$`, "m"));
    }
  });

  it("defines the same accounts in every config (a cluster needs identical accounts)", () => {
    const reference = accountsBlock(read("deploy/nats/enterprise.conf"));
    expect(accountsBlock(read("deploy/nats/plant-a.conf"))).toBe(reference);
    expect(accountsBlock(read("deploy/nats/cluster/accounts.conf"))).toBe(reference);
    for (const file of clusterNodes) expect(read(file)).toMatch(/^include \.\/accounts\.conf$/m);
  });

  it("keeps every password out of the files: each is an environment variable reference", () => {
    for (const file of [...single, "deploy/nats/cluster/accounts.conf"]) {
      const values = [...stripComments(read(file)).matchAll(/password:\s*(\S+)/g)].map((m) => m[1]);
      expect(values.length, file).toBe(3);
      for (const value of values) expect(value).toMatch(/^\$[A-Z][A-Z0-9_]*$/);
    }
  });

  it("lets the bsfg user reach exactly the subjects the node's streams and KV buckets use", () => {
    const conf = read("deploy/nats/enterprise.conf");
    const allow = permissionList(conf, "bsfg", "publish", "allow");
    const spec: CategorySpec = {
      name: "operational",
      maxAgeMs: 1000,
      maxBytes: -1,
      maxMsgs: -1,
      maxMsgBytes: -1,
      replicas: 1,
      storage: "file",
      dedup: "index",
      duplicateWindowMs: 1000,
    };
    const streamSubjects = [
      ...(storeStreamConfig(spec).subjects ?? []),
      ...(forwardStreamConfig(spec).subjects ?? []),
      ...(indexStreamConfig([spec])?.subjects ?? []),
      ...(objectStreamConfig({ name: "artifacts", maxBytes: -1, replicas: 1, storage: "file" }).subjects ??
        []),
    ];
    const nodeSubjects = [
      ...streamSubjects,
      `$KV.${CURSOR_BUCKET}.>`,
      `$KV.${REFERENCE_BUCKET}.>`,
      "$JS.API.CONSUMER.MSG.NEXT.facts_operational.reader",
      "$JS.API.STREAM.CREATE.facts_operational",
      "$JS.API.DIRECT.GET.KV_bsfg_cursors.$KV.bsfg_cursors.c",
    ];
    for (const subject of nodeSubjects) expect(anyCovers(allow, subject), subject).toBe(true);
    // Nothing beyond its own account's JetStream, subjects and buckets.
    for (const other of ["app.orders.1", "$KV.other.k", "$O.bucket.x", "$SYS.REQ.SERVER.PING", "_INBOX.x"]) {
      expect(anyCovers(allow, other), other).toBe(false);
    }
    expect(permissionList(conf, "bsfg", "subscribe", "allow")).toEqual(["_INBOX.>"]);

    // The app user: none of those, but its own subjects.
    const appAllow = permissionList(conf, "app", "publish", "allow");
    const appDeny = permissionList(conf, "app", "publish", "deny");
    const appSubDeny = permissionList(conf, "app", "subscribe", "deny");
    for (const subject of [...nodeSubjects, "$O.bucket.x", "$JS.API.INFO"]) {
      expect(anyCovers(appAllow, subject), subject).toBe(false);
      expect(anyCovers(appDeny, subject), subject).toBe(true);
      expect(anyCovers(appSubDeny, subject), subject).toBe(true);
    }
    expect(anyCovers(appAllow, "app.orders.1")).toBe(true);
  });

  it("describes one 3-node cluster of one domain, with distinct names, ports and stores, routes on loopback", () => {
    const texts = clusterNodes.map((f) => stripComments(read(f)));
    const field = (text: string, re: RegExp) => re.exec(text)?.[1];
    const names = texts.map((t) => field(t, /server_name:\s*(\S+)/));
    expect(new Set(names).size).toBe(3);
    expect(new Set(texts.map((t) => field(t, /domain:\s*(\S+)/)))).toEqual(new Set(["plant-a"]));
    expect(new Set(texts.map((t) => field(t, /\bname:\s*(plant-a)\b/)))).toEqual(new Set(["plant-a"]));
    const listens = texts.map((t) => field(t, /listen:\s*(\S+)/));
    expect(new Set(listens).size).toBe(3);
    for (const key of [/^port:\s*(\d+)/m, /http_port:\s*(\d+)/, /store_dir:\s*"([^"]+)"/]) {
      expect(new Set(texts.map((t) => field(t, key))).size).toBe(3);
    }
    for (const text of texts) {
      const routes = [...text.matchAll(/nats-route:\/\/([\d.]+:\d+)/g)].map((m) => m[1]);
      expect(routes.sort()).toEqual([...listens].sort());
      for (const route of routes) expect(route).toMatch(/^127\.0\.0\.1:/);
    }
  });
});

// ---- example node configs ----------------------------------------------------------------

describe("deploy/enterprise.yaml and deploy/plant-a.yaml", () => {
  const configs = Object.fromEntries(
    ZONES.map((z) => [z, okConfig(parseConfig(read(`deploy/${z}.yaml`), {}), `deploy/${z}.yaml`)]),
  ) as Record<(typeof ZONES)[number], Config>;

  it("validate, and peer with each other under the <zone>-bsfg identities", () => {
    for (const zone of ZONES) {
      const self = configs[zone];
      const other = ZONES.find((z) => z !== zone) as (typeof ZONES)[number];
      expect(self.zone).toBe(zone);
      expect(Object.keys(self.peers)).toEqual([other]);
      expect(self.peers[other]?.identity).toBe(`${other}-bsfg`);
      expect(self.tls.cert).toContain(`${zone}-bsfg`);
      // What one imports, the other exports to it.
      for (const category of self.peers[other]?.import ?? []) {
        expect(configs[other].peers[zone]?.export, `${zone} imports ${category}`).toContain(category);
      }
      // Consumers are usable: their principals exist.
      for (const [name, consumer] of Object.entries(self.consumers)) {
        for (const p of consumer.principals) expect(Object.keys(self.principals), name).toContain(p);
      }
    }
    expect(configs.enterprise.role).toBe("external");
    expect(configs["plant-a"].role).toBe("internal");
  });

  it("connect as the BSFG account's user of deploy/nats with a password file", () => {
    for (const zone of ZONES) {
      const conf = read(`deploy/nats/${zone}.conf`);
      expect(configs[zone].nats.user).toBe("bsfg");
      expect(accountsBlock(conf)).toMatch(new RegExp(`BSFG \\{[\\s\\S]*user: ${configs[zone].nats.user}\\n`));
      expect(configs[zone].nats.password_file).toBeDefined();
    }
  });
});

// ---- deploy/systemd/bsfg.service ---------------------------------------------------------

describe("deploy/systemd/bsfg.service", () => {
  const sections: Record<string, Array<[string, string]>> = {};
  let current = "";
  for (const line of read("deploy/systemd/bsfg.service").split("\n")) {
    const section = /^\[(\w+)\]$/.exec(line);
    if (section) current = section[1] as string;
    const kv = /^(\w+)=(.*)$/.exec(line);
    if (kv === null || current === "") continue;
    const entries = sections[current] ?? [];
    entries.push([kv[1] as string, kv[2] as string]);
    sections[current] = entries;
  }
  const get = (section: string, key: string) =>
    sections[section]?.filter(([k]) => k === key).map(([, v]) => v);

  it("runs the built node as the bsfg user and stops it with SIGTERM within the drain deadline", () => {
    expect(get("Service", "User")).toEqual(["bsfg"]);
    expect(get("Service", "ExecStart")).toEqual([
      "/usr/bin/node /opt/bsfg/dist/main.js serve --config /etc/bsfg/bsfg.yaml",
    ]);
    expect(get("Service", "Restart")).toEqual(["on-failure"]);
    expect(get("Service", "KillSignal")).toEqual(["SIGTERM"]);
    expect(get("Service", "ExecReload")).toEqual(["/bin/kill -HUP $MAINPID"]);
    const stop = seconds(get("Service", "TimeoutStopSec")?.[0] ?? "0s");
    for (const zone of ZONES) {
      const config = okConfig(parseConfig(read(`deploy/${zone}.yaml`), {}), zone);
      expect(stop).toBeGreaterThan(config.shutdown_timeout / 1000);
    }
  });

  it("is hardened", () => {
    const expected: Record<string, string> = {
      NoNewPrivileges: "yes",
      ProtectSystem: "strict",
      ProtectHome: "yes",
      PrivateTmp: "yes",
      PrivateDevices: "yes",
      RestrictSUIDSGID: "yes",
      CapabilityBoundingSet: "",
      UMask: "0077",
    };
    for (const [key, value] of Object.entries(expected)) expect(get("Service", key), key).toEqual([value]);
    expect(get("Service", "ReadWritePaths")?.length).toBe(1);
  });
});

// ---- deploy/grafana/bsfg-dashboard.json --------------------------------------------------

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === "gen" ? [] : sourceFiles(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

/** Metric names the node registers: `name: "..."` in src/observability and every file using prom-client. */
function registeredMetrics(): { names: Set<string>; histograms: Set<string>; files: string[] } {
  const files = sourceFiles(join(REPO, "src")).filter(
    (f) => f.includes("/src/observability/") || readFileSync(f, "utf8").includes("prom-client"),
  );
  const names = new Set<string>();
  const histograms = new Set<string>();
  for (const file of files) {
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(/\bname:\s*["']([a-z_:][a-z0-9_:]*)["']/g)) {
      if (/^(bsfg|js)_/.test(m[1] as string)) names.add(m[1] as string);
    }
    for (const m of text.matchAll(
      /new\s+(Histogram|Summary)\b[^(]*\(\s*\{\s*name:\s*["']([a-z0-9_:]+)["']/g,
    )) {
      histograms.add(m[2] as string);
    }
  }
  return { names, histograms, files: files.map((f) => relative(REPO, f)) };
}

const PROMQL_WORDS = new Set(
  (
    "sum min max avg count stddev stdvar topk bottomk quantile group count_values rate irate increase delta " +
    "idelta deriv histogram_quantile vector scalar abs ceil floor round clamp clamp_min clamp_max time " +
    "timestamp absent absent_over_time changes resets label_replace label_join sort sort_desc " +
    "avg_over_time min_over_time max_over_time sum_over_time count_over_time quantile_over_time " +
    "last_over_time predict_linear by without on ignoring group_left group_right offset bool and or unless"
  ).split(" "),
);

/** Metric names used in a PromQL expression (label matchers, ranges, grouping labels and numbers removed). */
function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ")
    .replace(/"[^"]*"/g, " ")
    .replace(/\$[\w]+/g, " ")
    .replace(/\b\d+(\.\d+)?([eE][-+]?\d+)?\b/g, " ");
  return [...stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)]
    .map((m) => m[0])
    .filter((word) => !PROMQL_WORDS.has(word));
}

/** Grafana's reference to the dashboard's datasource variable (not a JS template). */
const GRAFANA_DATASOURCE_VARIABLE = ["$", "{datasource}"].join("");

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type: string; uid: string };
  targets?: Array<{ expr: string }>;
}

describe("deploy/grafana/bsfg-dashboard.json", () => {
  const dashboard = JSON.parse(read("deploy/grafana/bsfg-dashboard.json")) as {
    schemaVersion: number;
    panels: Panel[];
    templating: { list: Array<{ name: string; type: string; query: unknown; definition?: string }> };
  };
  const panels = dashboard.panels.filter((p) => p.type !== "row");
  const exprs = panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));

  it("is a current dashboard with a Prometheus datasource variable and a zone variable", () => {
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    const vars = Object.fromEntries(dashboard.templating.list.map((v) => [v.name, v]));
    expect(vars.datasource).toMatchObject({ type: "datasource", query: "prometheus" });
    expect(vars.zone?.type).toBe("query");
    expect(new Set(dashboard.panels.map((p) => p.id)).size).toBe(dashboard.panels.length);
    for (const p of panels)
      expect(p.datasource, p.title).toEqual({ type: "prometheus", uid: GRAFANA_DATASOURCE_VARIABLE });
    for (const { panel, expr } of exprs) expect(expr, panel).toContain('zone=~"$zone"');
  });

  it("lays panels out without overlaps", () => {
    const cells = new Set<string>();
    for (const p of dashboard.panels) {
      for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++) {
        for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
          const cell = `${x},${y}`;
          expect(cells.has(cell), `${p.title} overlaps at ${cell}`).toBe(false);
          cells.add(cell);
        }
      }
      expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24);
    }
  });

  it("queries only metrics the node registers (or prom-client's default process metrics)", async () => {
    const { names, histograms, files } = registeredMetrics();
    expect(files).toContain("src/observability/create-metrics.ts");
    const defaults = new Registry();
    collectDefaultMetrics({ register: defaults });
    const known = new Set(names);
    for (const m of await defaults.getMetricsAsJSON()) {
      known.add(m.name);
      if (["histogram", "summary"].includes(String(m.type))) histograms.add(m.name);
    }
    for (const h of histograms) for (const suffix of ["_bucket", "_sum", "_count"]) known.add(h + suffix);

    const zoneVar = dashboard.templating.list.find((v) => v.name === "zone");
    const variableMetric = /label_values\(\s*([a-z_:][a-z0-9_:]*)/.exec(zoneVar?.definition ?? "")?.[1];
    const used = [
      ...exprs.flatMap(({ panel, expr }) => metricNames(expr).map((name) => ({ panel, name }))),
      { panel: "zone variable", name: variableMetric ?? "(none)" },
    ];
    expect(used.filter(({ name }) => !known.has(name))).toEqual([]);
    expect(used.some(({ name }) => name === "process_resident_memory_bytes")).toBe(true);
  });

  it("has a panel for every bsfg_* and js_* metric the node registers", () => {
    const { names } = registeredMetrics();
    expect(names.size).toBeGreaterThanOrEqual(13);
    const used = new Set(exprs.flatMap(({ expr }) => metricNames(expr)));
    const base = (n: string) => n.replace(/_(bucket|sum|count)$/, "");
    const covered = new Set([...used, ...[...used].map(base)]);
    const missing = [...names].filter((n) => !covered.has(n));
    // When this fails, a metric was added: give it a panel in deploy/grafana/bsfg-dashboard.json.
    expect(missing).toEqual([]);
  });
});

describe("node runtime flags", () => {
  it("runs the node with the V8 flags the benchmark measured, under systemd and in the image", () => {
    const unit = read("deploy/systemd/bsfg.service").match(/^Environment="?NODE_OPTIONS=([^"\n]*)"?$/m)?.[1];
    const image = read("deploy/docker/Dockerfile").match(/^ENV NODE_OPTIONS=(.*)$/m)?.[1];
    for (const flags of [unit, image]) {
      expect(flags?.split(" ")).toEqual(expect.arrayContaining(PRODUCTION_NODE_OPTIONS.split(" ")));
    }
  });
});
