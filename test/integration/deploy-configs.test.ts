// The deployable artifacts under deploy/ against real processes: nats-servers started from
// deploy/nats/*.conf (only ports and store_dir rewritten, accounts and permissions as written),
// BSFG nodes configured from deploy/enterprise.yaml and deploy/plant-a.yaml, certificates from
// deploy/docker/cert-init.mjs.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.js";
import { type Config, configSchema } from "../../src/config/schema.js";
import { freePort } from "../../src/dev/free-port.js";
import type { PutObjectRequest } from "../../src/gen/bsfg/v1/boundary_pb.js";
import { clientFor, eventually, type RunningTestNode, startTestNode } from "../fixtures/test-node.js";

const run = promisify(execFile);
const REPO = fileURLToPath(new URL("../../", import.meta.url));
const repoFile = (path: string): string => join(REPO, path);
const ZONES = ["enterprise", "plant-a"] as const;
type Zone = (typeof ZONES)[number];

// ---- nats-server from a deploy config ------------------------------------------------------

interface ConfServer {
  readonly url: string;
  readonly pid: number;
  /** Everything the server logged so far. */
  output(): string;
  /** SIGKILL (a crash). */
  kill(): Promise<void>;
  /** SIGTERM, SIGKILL after 10 s. Idempotent. */
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of live) child.kill("SIGKILL");
});

/** A password nats-server accepts from the environment (a letter first, then hex). */
const secret = (): string => `p${randomBytes(16).toString("hex")}`;

/** Replaces each `from` (which must occur) everywhere: the test fails loudly if a deploy config changes shape. */
function rewrite(text: string, file: string, replacements: ReadonlyArray<readonly [string, string]>): string {
  let out = text;
  for (const [from, to] of replacements) {
    if (!out.includes(from)) throw new Error(`${file}: expected to find ${JSON.stringify(from)} to rewrite`);
    out = out.replaceAll(from, to);
  }
  return out;
}

async function startConfServer(configFile: string, env: Record<string, string>): Promise<ConfServer> {
  const runDir = await mkdtemp(join(tmpdir(), "bsfg-deploy-run-"));
  const child = spawn("nats-server", ["-c", configFile, "--ports_file_dir", runDir], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { PATH: process.env.PATH ?? "", ...env },
  });
  live.add(child);
  let log = "";
  const collect = (chunk: Buffer) => {
    log = (log + chunk.toString("utf8")).slice(-256 * 1024);
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  let exitReason: string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once("exit", (code, signal) => {
      exitReason = `exited with code ${code} signal ${signal}`;
      live.delete(child);
      resolve();
    });
    child.once("error", (err) => {
      exitReason ??= `failed to spawn: ${err.message}`;
      live.delete(child);
      resolve();
    });
  });
  const deadline = Date.now() + 15_000;
  let url: string | undefined;
  while (url === undefined) {
    if (exitReason !== undefined) throw new Error(`nats-server -c ${configFile} ${exitReason}:\n${log}`);
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`nats-server -c ${configFile} did not write its ports file:\n${log}`);
    }
    try {
      const ports = JSON.parse(await readFile(join(runDir, `nats-server_${child.pid}.ports`), "utf8")) as {
        nats?: string[];
      };
      url = ports.nats?.[0];
    } catch {
      await delay(25);
    }
  }
  const terminate = async (signal: NodeJS.Signals) => {
    if (exitReason === undefined) {
      child.kill(signal);
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(runDir, { recursive: true, force: true });
  };
  return {
    url,
    pid: child.pid ?? -1,
    output: () => log,
    kill: () => terminate("SIGKILL"),
    stop: () => terminate("SIGTERM"),
  };
}

/** deploy/nats/<zone>.conf on a free loopback port with its JetStream store in `storeDir`. */
async function singleServerConfig(
  zone: Zone,
  dir: string,
  extra: Array<[string, string]> = [],
): Promise<string> {
  const source = repoFile(`deploy/nats/${zone}.conf`);
  const text = rewrite(await readFile(source, "utf8"), source, [
    ["host: 0.0.0.0", "host: 127.0.0.1"],
    ["port: 4222", "port: -1"],
    ["http_port: 8222", "http_port: -1"],
    ['store_dir: "/var/lib/nats/jetstream"', `store_dir: "${join(dir, "jetstream")}"`],
    ...extra,
  ]);
  const file = join(dir, `${zone}.conf`);
  await mkdir(dir, { recursive: true });
  await writeFile(file, text);
  return file;
}

const natsEnv = (s: { bsfg: string; app: string; sys: string }) => ({
  BSFG_NATS_PASSWORD: s.bsfg,
  BSFG_NATS_APP_PASSWORD: s.app,
  BSFG_NATS_SYS_PASSWORD: s.sys,
});

interface MetaCluster {
  leader?: string;
  cluster_size?: number;
  replicas?: Array<{ name: string; current: boolean }>;
}

/** whenReady, but a node that cannot provision fails the test with its reason instead of hanging. */
async function readyOrFatal(running: RunningTestNode): Promise<void> {
  await Promise.race([
    running.node.whenReady(),
    running.node.fatal.then((error) => {
      throw new Error(`node cannot start: ${error.message}`);
    }),
  ]);
}

// ---- PKI and NATS passwords from deploy/docker/cert-init.mjs ------------------------------

let root: string;
let pkiDir: string;
const passwords: Record<Zone, { bsfg: string; app: string; sys: string }> = {
  enterprise: { bsfg: secret(), app: secret(), sys: secret() },
  "plant-a": { bsfg: secret(), app: secret(), sys: secret() },
};
const pem = (name: string) => ({ cert: join(pkiDir, `${name}.pem`), key: join(pkiDir, `${name}-key.pem`) });

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "bsfg-deploy-"));
  pkiDir = join(root, "pki");
  await run("node", [repoFile("deploy/docker/cert-init.mjs"), pkiDir], {
    cwd: REPO,
    env: {
      ...process.env,
      ENTERPRISE_NATS_PASSWORD: passwords.enterprise.bsfg,
      PLANT_A_NATS_PASSWORD: passwords["plant-a"].bsfg,
    },
  });
}, 60_000);

afterAll(async () => {
  if (root !== undefined) await rm(root, { recursive: true, force: true });
});

describe("deploy/docker/cert-init.mjs", () => {
  it("writes the compose PKI and password files, private keys 0600, and keeps them on a rerun", async () => {
    const names = ["enterprise-bsfg", "plant-a-bsfg", "erp-gateway", "mes-gateway"];
    for (const name of names) {
      expect((await stat(pem(name).key)).mode & 0o777).toBe(0o600);
      await stat(pem(name).cert);
    }
    expect((await readFile(join(pkiDir, "plant-a-nats-password"), "utf8")).trim()).toBe(
      passwords["plant-a"].bsfg,
    );
    const ca = await readFile(join(pkiDir, "ca.pem"), "utf8");
    const again = await run("node", [repoFile("deploy/docker/cert-init.mjs"), pkiDir], {
      cwd: REPO,
      env: { ...process.env, ENTERPRISE_NATS_PASSWORD: "px", PLANT_A_NATS_PASSWORD: "py" },
    });
    expect(again.stdout).toContain("keeping the existing PKI");
    expect(await readFile(join(pkiDir, "ca.pem"), "utf8")).toBe(ca);
    // Restore the passwords the servers below use.
    await writeFile(join(pkiDir, "enterprise-nats-password"), `${passwords.enterprise.bsfg}\n`);
    await writeFile(join(pkiDir, "plant-a-nats-password"), `${passwords["plant-a"].bsfg}\n`);
  });
});

describe("bsfg validate on the example node configs", () => {
  it.each(ZONES)(
    "deploy/%s.yaml validates with its files present, and names every missing one",
    async (zone) => {
      const cli = ["bin/bsfg.js", "validate", "--config", `deploy/${zone}.yaml`];
      const overrides = {
        BSFG__TLS__CA: join(pkiDir, "ca.pem"),
        BSFG__TLS__CERT: pem(`${zone}-bsfg`).cert,
        BSFG__TLS__KEY: pem(`${zone}-bsfg`).key,
        BSFG__NATS__PASSWORD_FILE: join(pkiDir, `${zone}-nats-password`),
      };
      const ok = await run("node", cli, { cwd: REPO, env: { ...process.env, ...overrides } });
      expect(ok.stdout).toContain(`deploy/${zone}.yaml: ok (zone ${zone}`);
      // As shipped, it points at /etc/bsfg, which this machine does not have.
      const missing = await run("node", cli, { cwd: REPO, env: process.env }).then(
        () => "",
        (error: { code?: number; stderr?: string }) => `${error.code}\n${error.stderr ?? ""}`,
      );
      expect(missing).toMatch(/^1\n/);
      for (const path of ["tls.ca", "tls.cert", "tls.key", "nats.password_file"])
        expect(missing).toContain(path);
    },
  );
});

describe("deploy/nats configs as written", () => {
  const files = [
    "deploy/nats/enterprise.conf",
    "deploy/nats/plant-a.conf",
    "deploy/nats/cluster/zone-node-1.conf",
    "deploy/nats/cluster/zone-node-2.conf",
    "deploy/nats/cluster/zone-node-3.conf",
  ];

  it.each(files)("%s passes nats-server -t with the passwords in the environment", async (file) => {
    const { stderr } = await run("nats-server", ["-c", repoFile(file), "-t"], {
      env: { PATH: process.env.PATH ?? "", ...natsEnv(passwords.enterprise) },
    });
    expect(stderr).toContain("is valid");
  });

  it("refuses to start when a password variable is missing (no built-in default)", async () => {
    const failure = await run("nats-server", ["-c", repoFile("deploy/nats/enterprise.conf"), "-t"], {
      env: { PATH: process.env.PATH ?? "", BSFG_NATS_PASSWORD: "pabc", BSFG_NATS_SYS_PASSWORD: "pdef" },
    }).then(
      () => undefined,
      (error: { stderr?: string }) => error.stderr ?? "",
    );
    expect(failure).toMatch(/BSFG_NATS_APP_PASSWORD.*can not be found/);
  });
});

// ---- both zones: servers from enterprise.conf / plant-a.conf, nodes from the example yamls ---

describe("two zones from deploy/nats/{enterprise,plant-a}.conf and deploy/{enterprise,plant-a}.yaml", () => {
  const servers = {} as Record<Zone, ConfServer>;
  const nodes = {} as Record<Zone, RunningTestNode>;
  const ca = () => join(pkiDir, "ca.pem");
  const app = (zone: Zone) =>
    clientFor(nodes[zone].url, ca(), pem(zone === "enterprise" ? "erp-gateway" : "mes-gateway"));
  const asBsfg = (zone: Zone) =>
    connect({ servers: servers[zone].url, user: "bsfg", pass: passwords[zone].bsfg });

  beforeAll(async () => {
    for (const zone of ZONES) {
      const file = await singleServerConfig(zone, join(root, "nats", zone));
      servers[zone] = await startConfServer(file, natsEnv(passwords[zone]));
    }
    // Each node must know the other's RPC port before either starts, so the ports are picked
    // ahead; should another socket take one meanwhile (EADDRINUSE), pick again.
    for (let attempt = 1; ; attempt++) {
      const rpcPorts = { enterprise: await freePort(), "plant-a": await freePort() };
      const configs = {} as Record<Zone, Config>;
      for (const zone of ZONES) {
        const peer: Zone = zone === "enterprise" ? "plant-a" : "enterprise";
        const small = Object.fromEntries(
          ["operational", "audit", "documents", "telemetry"].map((c) => [
            `BSFG__CATEGORIES__${c.toUpperCase()}__MAX_BYTES`,
            "64MiB",
          ]),
        );
        const parsed = parseConfig(await readFile(repoFile(`deploy/${zone}.yaml`), "utf8"), {
          // Only what a deployment changes per host: files, addresses, and small budgets for a test disk.
          BSFG__TLS__CA: ca(),
          BSFG__TLS__CERT: pem(`${zone}-bsfg`).cert,
          BSFG__TLS__KEY: pem(`${zone}-bsfg`).key,
          BSFG__NATS__SERVERS: `[${servers[zone].url}]`,
          BSFG__NATS__PASSWORD_FILE: join(pkiDir, `${zone}-nats-password`),
          BSFG__LISTEN__RPC: `127.0.0.1:${rpcPorts[zone]}`,
          BSFG__LISTEN__ADMIN: "127.0.0.1:0",
          [`BSFG__PEERS__${peer.toUpperCase()}__URL`]: `https://127.0.0.1:${rpcPorts[peer]}`,
          BSFG__RECEIVER__WAIT: "500ms",
          BSFG__RECEIVER__BACKOFF_MAX: "500ms",
          BSFG__SHUTDOWN_TIMEOUT: "5s",
          BSFG__BUCKETS__ARTIFACTS__MAX_BYTES: "64MiB",
          ...small,
        });
        if (!parsed.ok) throw new Error(`deploy/${zone}.yaml: ${parsed.problems.join("; ")}`);
        expect(parsed.config.nats.user).toBe("bsfg");
        configs[zone] = parsed.config;
      }
      const started: RunningTestNode[] = [];
      try {
        for (const zone of ZONES) {
          nodes[zone] = await startTestNode(configs[zone]);
          started.push(nodes[zone]);
        }
        break;
      } catch (error) {
        await Promise.all(started.map((n) => n.node.stop()));
        if (attempt >= 3 || !/EADDRINUSE/.test(String(error))) throw error;
      }
    }
    await Promise.all(ZONES.map((zone) => readyOrFatal(nodes[zone])));
  });

  afterAll(async () => {
    await Promise.all(ZONES.map((zone) => nodes[zone]?.node.stop()));
    await Promise.all(ZONES.map((zone) => servers[zone]?.stop()));
  });

  it("lets the node (account BSFG) provision its zone's JetStream domain and acknowledge an AppendFact", async () => {
    const ready = await fetch(`${nodes.enterprise.adminUrl}/readyz`);
    expect(ready.status).toBe(200);
    const res = await app("enterprise").appendFact({
      envelope: {
        messageId: "deploy-ent-1",
        fromZone: "enterprise",
        toZone: "plant-a",
        producedAtUnixMs: BigInt(Date.now()),
      },
      fact: { subject: "order:ENT-1", predicate: "order_created", objectJson: '{"total": 15000}' },
    });
    expect(res).toMatchObject({ category: "operational", duplicate: false });
    expect(res.offset).toBeGreaterThan(0n);

    const nc = await asBsfg("enterprise");
    try {
      const jsm = await jetstreamManager(nc);
      expect((await jsm.getAccountInfo()).domain).toBe("enterprise");
      const names: string[] = [];
      for await (const s of jsm.streams.list()) names.push(s.config.name);
      expect(names).toEqual(
        expect.arrayContaining([
          "facts_operational",
          "forward_operational",
          "bsfg_index",
          "objects_artifacts",
          "KV_bsfg_cursors",
          "KV_bsfg_object_refs",
        ]),
      );
      expect((await jsm.streams.info("facts_operational")).state.messages).toBeGreaterThanOrEqual(1);
    } finally {
      await nc.close();
    }
  });

  it("carries facts and an artifact both ways with no permission violation for the bsfg user", async () => {
    const data = randomBytes(700 * 1024);
    const put = await app("enterprise").putObject(
      (async function* () {
        yield {
          part: {
            case: "header",
            value: { bucket: "artifacts", key: "batch/BR-7.pdf", mediaType: "application/pdf" },
          },
        } as PutObjectRequest;
        yield { part: { case: "chunk", value: new Uint8Array(data) } } as PutObjectRequest;
      })(),
    );
    const ref = { bucket: "artifacts", key: "batch/BR-7.pdf", digest: put.digest, size: Number(put.size) };
    await app("enterprise").appendFact({
      envelope: {
        messageId: "deploy-br-7",
        fromZone: "enterprise",
        toZone: "plant-a",
        producedAtUnixMs: 1n,
        objectMediaType: "application/pdf",
      },
      fact: {
        subject: "batch_record:BR-7",
        predicate: "batch_record_released",
        objectJson: JSON.stringify(ref),
      },
    });
    await app("plant-a").appendFact({
      envelope: {
        messageId: "deploy-plant-1",
        fromZone: "plant-a",
        toZone: "enterprise",
        producedAtUnixMs: 1n,
      },
      fact: { subject: "batch:BR-7", predicate: "batch_started", objectJson: '{"line": 3}' },
      category: "audit",
    });

    const seen = async (zone: Zone, consumer: string, id: string) => {
      await eventually(
        async () => {
          const res = await app(zone).fetchFacts({ consumerName: consumer, limit: 100, waitMs: 200 });
          const hit = res.facts.find((f) => f.envelope?.messageId === id);
          if (hit === undefined) return false;
          await app(zone).confirmReceipt({ consumerName: consumer, offset: hit.offset });
          return true;
        },
        30_000,
        `${id} at ${zone}/${consumer}`,
      );
    };
    await seen("plant-a", "enterprise-operational", "deploy-ent-1");
    await seen("plant-a", "enterprise-documents", "deploy-br-7");
    await seen("enterprise", "plant-audit", "deploy-plant-1");
    const parts: Uint8Array[] = [];
    for await (const res of app("plant-a").getObject({ bucket: "artifacts", key: "batch/BR-7.pdf" })) {
      if (res.part.case === "chunk") parts.push(res.part.value);
    }
    expect(Buffer.concat(parts).equals(data)).toBe(true);

    for (const zone of ZONES) {
      expect(servers[zone].output()).not.toMatch(/Violation - User "bsfg"/);
      expect(nodes[zone].logs().filter((l) => /permission/i.test(String(l.msg)))).toEqual([]);
    }
  });

  it("keeps an APP-account user on its own subjects: no store buffer writes, no JetStream API", async () => {
    const nc = await connect({
      servers: servers.enterprise.url,
      user: "app",
      pass: passwords.enterprise.app,
    });
    const violations: Array<{ operation: string; subject: string }> = [];
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type === "error" && s.error.name === "PermissionViolationError") {
          const e = s.error as Error & { operation: string; subject: string };
          violations.push({ operation: e.operation, subject: e.subject });
        }
      }
    })();
    const bsfg = await asBsfg("enterprise");
    try {
      const jsm = await jetstreamManager(bsfg);
      const before = (await jsm.streams.info("facts_operational")).state.messages;

      // Its own subjects work, pub/sub and request/reply.
      const sub = nc.subscribe("app.orders.>", { max: 1 });
      const got = (async () => {
        for await (const m of sub) return m.string();
        return undefined;
      })();
      const responder = nc.subscribe("app.rpc.echo", {
        callback: (_err, m) => {
          m.respond(`echo:${m.string()}`);
        },
      });
      await nc.flush();
      nc.publish("app.orders.1", "hello");
      expect(await got).toBe("hello");
      expect((await nc.request("app.rpc.echo", "x", { timeout: 2000 })).string()).toBe("echo:x");
      responder.unsubscribe();

      // A JetStream publish into the store buffer's subjects gets no acknowledgement.
      const js = jetstream(nc, { timeout: 1000 });
      await expect(js.publish("facts.x.y", "forged")).rejects.toThrow();
      await expect(js.publish("facts.operational.plant-a.order.forged", "forged")).rejects.toThrow();
      // The JetStream API is closed to it.
      await expect(
        nc.request("$JS.API.STREAM.INFO.facts_operational", "", { timeout: 1000 }),
      ).rejects.toThrow();
      await expect(nc.request("$KV.bsfg_cursors.x", "1", { timeout: 1000 })).rejects.toThrow();
      // And it cannot listen on the node's subjects either.
      nc.subscribe("facts.>");
      nc.subscribe("bsfg.>");
      await nc.flush();

      await eventually(() => violations.length >= 6, 5000, "the server's permission violations");
      expect(violations).toEqual(
        expect.arrayContaining([
          { operation: "publish", subject: "facts.x.y" },
          { operation: "publish", subject: "facts.operational.plant-a.order.forged" },
          { operation: "publish", subject: "$JS.API.STREAM.INFO.facts_operational" },
          { operation: "publish", subject: "$KV.bsfg_cursors.x" },
          { operation: "subscription", subject: "facts.>" },
          { operation: "subscription", subject: "bsfg.>" },
        ]),
      );
      expect((await jsm.streams.info("facts_operational")).state.messages).toBe(before);
      // The server logs them by user (the format the bsfg-user check above relies on).
      expect(servers.enterprise.output()).toContain('Publish Violation - User "app", Subject "facts.x.y"');
    } finally {
      await bsfg.close();
      await nc.close();
    }
  });

  it("gives the sys user the system account", async () => {
    const nc = await connect({
      servers: servers.enterprise.url,
      user: "sys",
      pass: passwords.enterprise.sys,
    });
    try {
      const res = await nc.request("$SYS.REQ.SERVER.PING.VARZ", "", { timeout: 2000 });
      expect((res.json() as { server?: { name?: string } }).server?.name).toBe("enterprise-nats-1");
    } finally {
      await nc.close();
    }
  });

  it("refuses the bsfg user with a wrong password and with another zone's password", async () => {
    await expect(
      connect({ servers: servers.enterprise.url, user: "bsfg", pass: "pwrong", reconnect: false }),
    ).rejects.toThrow(/Authorization/i);
    await expect(
      connect({
        servers: servers.enterprise.url,
        user: "bsfg",
        pass: passwords["plant-a"].bsfg,
        reconnect: false,
      }),
    ).rejects.toThrow(/Authorization/i);
  });
});

// ---- encryption at rest, as deploy/nats/README.md describes it ------------------------------

describe("JetStream encryption at rest (deploy/nats/README.md)", () => {
  const marker = `plaintext-marker-${randomBytes(8).toString("hex")}`;

  async function storeHolds(dir: string, needle: string): Promise<boolean> {
    for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
      if (!entry.isFile()) continue;
      const bytes = await readFile(join(entry.parentPath, entry.name));
      if (bytes.includes(needle)) return true;
    }
    return false;
  }

  async function writeAndStop(dir: string, extra: Array<[string, string]>, env: Record<string, string>) {
    const server = await startConfServer(await singleServerConfig("enterprise", dir, extra), {
      ...natsEnv(passwords.enterprise),
      ...env,
    });
    try {
      const nc = await connect({ servers: server.url, user: "bsfg", pass: passwords.enterprise.bsfg });
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: "facts_probe", subjects: ["facts.probe.>"] });
      await jetstream(nc).publish("facts.probe.x.y", JSON.stringify({ marker }));
      await nc.close();
      return server.output();
    } finally {
      await server.stop();
    }
  }

  it("with cipher: chachapoly and key: $BSFG_NATS_JS_KEY no stored byte shows the payload", async () => {
    const plainDir = join(root, "enc-off");
    const encDir = join(root, "enc-on");
    await writeAndStop(plainDir, [], {});
    const log = await writeAndStop(
      encDir,
      [
        ["# cipher: chachapoly", "cipher: chachapoly"],
        ["# key: $BSFG_NATS_JS_KEY", "key: $BSFG_NATS_JS_KEY"],
      ],
      { BSFG_NATS_JS_KEY: `k${randomBytes(24).toString("hex")}` },
    );
    expect(log).toMatch(/Encryption:\s+ChaCha20-Poly1305/);
    expect(await storeHolds(join(plainDir, "jetstream"), marker)).toBe(true);
    expect(await storeHolds(join(encDir, "jetstream"), marker)).toBe(false);
  });
});

// ---- the 3-node cluster of deploy/nats/cluster ----------------------------------------------

describe("deploy/nats/cluster: 3-node JetStream cluster, replicas 3, one server killed", () => {
  const servers: ConfServer[] = [];
  let node: RunningTestNode;
  const zonePasswords = passwords["plant-a"];
  const fact = (id: string) => ({
    envelope: {
      messageId: id,
      fromZone: "plant-a",
      toZone: "enterprise",
      producedAtUnixMs: BigInt(Date.now()),
    },
    fact: { subject: `batch:${id}`, predicate: "batch_started", objectJson: JSON.stringify({ id }) },
  });
  const asBsfg = (urls: string[]) =>
    connect({ servers: urls, user: "bsfg", pass: zonePasswords.bsfg, maxReconnectAttempts: -1 });

  beforeAll(async () => {
    const dir = join(root, "cluster");
    await mkdir(dir, { recursive: true });
    await copyFile(repoFile("deploy/nats/cluster/accounts.conf"), join(dir, "accounts.conf"));
    // Route ports must be known to all three configs up front; if another socket takes one
    // before its server binds it, start over with new ports.
    for (let attempt = 1; ; attempt++) {
      const routes = [await freePort(), await freePort(), await freePort()];
      const files: string[] = [];
      for (const i of [1, 2, 3]) {
        const source = repoFile(`deploy/nats/cluster/zone-node-${i}.conf`);
        const text = rewrite(await readFile(source, "utf8"), source, [
          [`port: ${4221 + i}`, "port: -1"],
          [`http_port: ${8221 + i}`, "http_port: -1"],
          [
            `store_dir: "/var/lib/nats/plant-a-nats-${i}/jetstream"`,
            `store_dir: "${join(dir, `node-${i}`, "jetstream")}"`,
          ],
          // Routes and the listen address: the loopback ports become free ones.
          ["127.0.0.1:6222", `127.0.0.1:${routes[0]}`],
          ["127.0.0.1:6223", `127.0.0.1:${routes[1]}`],
          ["127.0.0.1:6224", `127.0.0.1:${routes[2]}`],
        ]);
        const file = join(dir, `zone-node-${i}.conf`);
        await writeFile(file, text);
        files.push(file);
      }
      const started = await Promise.allSettled(files.map((f) => startConfServer(f, natsEnv(zonePasswords))));
      const up = started.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
      if (up.length === files.length) {
        servers.push(...up);
        break;
      }
      await Promise.all(up.map((s) => s.stop()));
      const failure = started.find((r) => r.status === "rejected")?.reason as unknown;
      if (attempt >= 3 || !/address already in use/i.test(String(failure))) throw failure;
      for (const i of [1, 2, 3]) await rm(join(dir, `node-${i}`), { recursive: true, force: true });
    }
    const urls = servers.map((s) => s.url);

    // Wait until every server is in the JetStream meta group with a leader, so R3 placement works
    // (the system account's JSZ, as an operator would look at it), and the BSFG account sees the domain.
    const sys = await connect({ servers: urls, user: "sys", pass: zonePasswords.sys });
    const bsfg = await asBsfg(urls);
    try {
      await eventually(
        async () => {
          try {
            const res = await sys.request("$SYS.REQ.SERVER.PING.JSZ", "", { timeout: 1000 });
            const meta = (res.json() as { data?: { meta_cluster?: MetaCluster } }).data?.meta_cluster;
            const replicas = meta?.replicas ?? [];
            if (!meta?.leader || meta.cluster_size !== 3 || replicas.length !== 2) return false;
            if (!replicas.every((r) => r.current)) return false;
            const jsm = await jetstreamManager(bsfg, { timeout: 1000 });
            return (await jsm.getAccountInfo()).domain === "plant-a";
          } catch {
            return false;
          }
        },
        30_000,
        "three servers in the JetStream meta group, with a leader",
      );
    } finally {
      await sys.close();
      await bsfg.close();
    }

    const passwordFile = join(dir, "nats-password");
    await writeFile(passwordFile, `${zonePasswords.bsfg}\n`, { mode: 0o600 });
    const r3 = { max_age: "1d", max_bytes: "64MiB", replicas: 3 as const };
    node = await startTestNode(
      configSchema.parse({
        zone: "plant-a",
        role: "internal",
        listen: { rpc: "127.0.0.1:0", admin: "127.0.0.1:0" },
        tls: { ca: join(pkiDir, "ca.pem"), ...pem("plant-a-bsfg") },
        // All three servers, as a production config lists them.
        nats: { servers: urls, user: "bsfg", password_file: passwordFile, request_timeout: "3s" },
        categories: { operational: r3, audit: r3 },
        buckets: { artifacts: { max_bytes: "64MiB", replicas: 3 } },
        principals: { "mes-gateway": { append: ["*"] } },
        peers: { enterprise: { identity: "enterprise-bsfg", export: ["operational", "audit"] } },
        shutdown_timeout: "5s",
      }),
    );
    await readyOrFatal(node);
  }, 90_000);

  afterAll(async () => {
    await node?.node.stop();
    await Promise.all(servers.map((s) => s.stop()));
  });

  it("keeps accepting and keeping facts after SIGKILL of the stream leader", async () => {
    const client = clientFor(node.url, join(pkiDir, "ca.pem"), pem("mes-gateway"));
    const urls = servers.map((s) => s.url);
    const nc = await asBsfg(urls);
    try {
      const jsm = await jetstreamManager(nc);
      for (const stream of ["facts_operational", "bsfg_index", "KV_bsfg_cursors", "objects_artifacts"]) {
        expect((await jsm.streams.info(stream)).config.num_replicas, stream).toBe(3);
      }

      const before = Array.from({ length: 20 }, (_, i) => `r3-before-${i}`);
      for (const id of before) await client.appendFact(fact(id));

      const info = await jsm.streams.info("facts_operational");
      expect(info.cluster?.replicas?.length).toBe(2);
      const leader = info.cluster?.leader ?? "";
      const index = Number(/^plant-a-nats-(\d)$/.exec(leader)?.[1]) - 1;
      const victim = servers[index];
      if (victim === undefined) throw new Error(`unexpected stream leader "${leader}"`);
      await victim.kill();

      // Retrying the same message_id is safe: at most one fact per id, whatever answered.
      const after = Array.from({ length: 20 }, (_, i) => `r3-after-${i}`);
      for (const id of after) {
        const deadline = Date.now() + 30_000;
        for (;;) {
          try {
            await client.appendFact(fact(id));
            break;
          } catch (error) {
            if (Date.now() > deadline) throw error;
            await delay(250);
          }
        }
      }

      // Every fact is there exactly once, in the replicated stream on the two survivors.
      const survivors = servers.filter((s) => s !== victim).map((s) => s.url);
      const check = await asBsfg(survivors);
      try {
        // No account-info probe: it needs the JetStream meta leader, which may still be re-electing.
        const jsm2 = await jetstreamManager(check, { checkAPI: false, timeout: 2000 });
        let messages = -1;
        await eventually(
          async () => {
            messages = await jsm2.streams.info("facts_operational").then(
              (i) => i.state.messages,
              () => -1,
            );
            return messages !== -1;
          },
          20_000,
          "stream info from the survivors",
        );
        expect(messages).toBe(40);
      } finally {
        await check.close();
      }
      // A read creates a short-lived consumer, which needs the meta leader: retry while it re-elects.
      const peer = clientFor(node.url, join(pkiDir, "ca.pem"), pem("enterprise-bsfg"));
      let fetched: Awaited<ReturnType<typeof peer.fetchFacts>> | undefined;
      await eventually(
        async () => {
          fetched = await peer
            .fetchFacts({ consumerName: "peer.enterprise.operational", limit: 1000 })
            .catch(() => undefined);
          return fetched !== undefined;
        },
        30_000,
        "FetchFacts after the failover",
      );
      if (fetched === undefined) throw new Error("unreachable");
      expect(fetched.facts.map((f) => f.envelope?.messageId)).toEqual([...before, ...after]);
      expect(new Set(fetched.facts.map((f) => f.offset)).size).toBe(40);
    } finally {
      await nc.close();
    }
  }, 120_000);
});
