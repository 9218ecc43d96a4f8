import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import http2 from "node:http2";
import { join } from "node:path";
import { ConnectError } from "@connectrpc/connect";
import { createUser } from "@nats-io/nkeys";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type NatsServerHandle, startNatsServer } from "../fixtures/nats-server.js";
import { type Daemon, runBsfg, startDaemon } from "../fixtures/spawn-bsfg.js";
import { clientFor, eventually } from "../fixtures/test-node.js";
import { createTestPki, type TestPki } from "../fixtures/test-pki.js";

// Secrets never appear in logs, errors returned to clients, `bsfg validate`
// output, /status, /readyz or /metrics: a node runs with each kind of NATS
// credential (password, nkey seed, creds file) and its TLS key, is driven
// through successes, refusals and failures, and everything it says is
// searched for the secrets.

const hex = () => randomBytes(12).toString("hex");
const PASSWORD = `pw${hex()}`;
const WRONG_PASSWORD = `wrong${hex()}`;
const INLINE_SECRET = `inline${hex()}`;
const BROKEN_KEY_MARKER = `brokenkey${hex()}`;
const nkeyUser = createUser();
const NKEY_SEED = new TextDecoder().decode(nkeyUser.getSeed());
const unknownUser = createUser();
const CREDS_SEED = new TextDecoder().decode(unknownUser.getSeed());

let nats: NatsServerHandle;
let pki: TestPki;
let keyPemLines: string[];
/** Everything any node, CLI run or endpoint said during the test. */
const said: string[] = [];

beforeAll(async () => {
  pki = await createTestPki();
  nats = await startNatsServer({
    configText: `accounts {
  ZONE: {
    jetstream: enabled
    users: [
      { user: bsfg, password: "${PASSWORD}" }
      { nkey: ${nkeyUser.getPublicKey()} }
    ]
  }
}
`,
  });
  keyPemLines = readFileSync(pki.node.key, "utf8")
    .split("\n")
    .filter((l) => l.length >= 16 && !l.startsWith("-----"));
  expect(keyPemLines.length).toBeGreaterThan(0);
});

afterAll(async () => {
  await nats?.stop();
});

async function file(name: string, text: string): Promise<string> {
  const path = join(pki.dir, name);
  await writeFile(path, text, { mode: 0o600 });
  return path;
}

async function nodeConfig(name: string, natsAuth: string, extra = ""): Promise<string> {
  return file(
    `${name}.yaml`,
    `zone: enterprise
role: external
listen: { rpc: "127.0.0.1:0", admin: "127.0.0.1:0" }
tls: { ca: ${pki.ca}, cert: ${pki.node.cert}, key: ${pki.node.key} }
nats: { servers: ["${nats.url}"], request_timeout: 2s, ${natsAuth} }
categories:
  operational: { max_age: 1d, max_bytes: 64MiB }
principals:
  erp: { append: [operational], put: [artifacts], get: [artifacts] }
peers:
  plant-a: { identity: plant-a-bsfg, export: [operational] }
shutdown_timeout: 5s
log_level: debug
${extra}`,
  );
}

async function ready(daemon: Daemon): Promise<void> {
  await eventually(
    async () => (await fetch(`${daemon.adminUrl}/readyz`)).status === 200,
    30_000,
    "node ready",
  );
}

async function stop(daemon: Daemon): Promise<void> {
  daemon.child.kill("SIGTERM");
  await daemon.exited;
  said.push(JSON.stringify(daemon.logs()), daemon.stderr());
}

/** The node's admin endpoints, as text. */
async function endpoints(daemon: Daemon): Promise<void> {
  for (const path of ["/status", "/readyz", "/livez", "/metrics"])
    said.push(await (await fetch(`${daemon.adminUrl}${path}`)).text());
}

/** What the client was told: code, message and metadata of a refusal. */
async function told(call: Promise<unknown>): Promise<void> {
  try {
    said.push(JSON.stringify(await call, (_k, v) => (typeof v === "bigint" ? String(v) : v)));
  } catch (error) {
    const e = ConnectError.from(error);
    said.push(`${e.code} ${e.rawMessage} ${JSON.stringify([...e.metadata.entries()])}`);
  }
}

const fact = (messageId: string, objectJson = "{}") => ({
  envelope: { messageId, fromZone: "enterprise", toZone: "plant-a", producedAtUnixMs: 1n },
  fact: { subject: "order:1", predicate: "created", objectJson },
});

describe("secrets stay out of everything the node says", () => {
  it("with a NATS password and its TLS key: successes, refusals, TLS failures and a broken key reload", async () => {
    const config = await nodeConfig(
      "password",
      `user: bsfg, password_file: ${await file("nats-password", PASSWORD)}`,
    );
    const daemon = await startDaemon(config);
    try {
      await ready(daemon);
      const erp = clientFor(daemon.rpcUrl, pki.ca, pki.clients.erp);
      await told(erp.appendFact(fact("s-1")));
      await told(erp.appendFact(fact("s-1", "[1]")));
      await told(erp.appendFact({ ...fact("s-2"), fact: { subject: "x", predicate: "", objectJson: "{" } }));
      await told(clientFor(daemon.rpcUrl, pki.ca, pki.clients.stranger).appendFact(fact("s-3")));
      await told(clientFor(daemon.rpcUrl, pki.ca, pki.rogue).appendFact(fact("s-4")));
      await told(clientFor(daemon.rpcUrl, pki.ca, pki.expired).appendFact(fact("s-5")));
      await told(erp.fetchFacts({ consumerName: "nope" }));
      await told(erp.confirmReceipt({ consumerName: "peer.plant-a.operational", offset: 99n }));
      await told(
        (async () => {
          for await (const _ of erp.getObject({ bucket: "artifacts", key: "missing" })) break;
        })(),
      );
      const session = http2.connect(daemon.rpcUrl, {
        ca: readFileSync(pki.ca),
        cert: readFileSync(pki.clients.erp.cert),
        key: readFileSync(pki.clients.erp.key),
      });
      const garbage = session.request({
        ":method": "POST",
        ":path": "/bsfg.v1.BoundaryService/AppendFact",
        "content-type": "application/proto",
      });
      let body = "";
      garbage.on("data", (d: Buffer) => {
        body += d.toString();
      });
      garbage.end(Buffer.from([0xff, 0xff, 0xff, 0x0f]));
      await new Promise((resolve) => garbage.on("close", resolve));
      said.push(body);
      session.close();
      await endpoints(daemon);

      // A key file that is not a key: the reload is refused and says so, without quoting the file.
      const original = readFileSync(pki.node.key, "utf8");
      await writeFile(
        pki.node.key,
        `-----BEGIN PRIVATE KEY-----\n${BROKEN_KEY_MARKER}\n-----END PRIVATE KEY-----\n`,
      );
      daemon.child.kill("SIGHUP");
      await eventually(
        () => daemon.logs().some((l) => l.msg === "TLS reload failed; keeping the previous certificates"),
        15_000,
        "reload refused",
      );
      await writeFile(pki.node.key, original, { mode: 0o600 });
      daemon.child.kill("SIGHUP");
      await eventually(
        () => daemon.logs().filter((l) => l.msg === "TLS material reloaded").length > 0,
        15_000,
        "reload",
      );
      await endpoints(daemon);
    } finally {
      await stop(daemon);
    }
    expect(said.join("\n")).toContain("was already used for different content");
  });

  it("with an nkey seed", async () => {
    const daemon = await startDaemon(
      await nodeConfig("nkey", `nkey_seed_file: ${await file("nats.nk", NKEY_SEED)}`),
    );
    try {
      await ready(daemon);
      await told(clientFor(daemon.rpcUrl, pki.ca, pki.clients.erp).appendFact(fact("n-1")));
      await endpoints(daemon);
    } finally {
      await stop(daemon);
    }
  });

  it("when NATS refuses the credentials: a wrong password and an unknown creds file", async () => {
    const creds = await file(
      "nats.creds",
      `-----BEGIN NATS USER JWT-----\neyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.e30.c2ln\n------END NATS USER JWT------\n\n-----BEGIN USER NKEY SEED-----\n${CREDS_SEED}\n------END USER NKEY SEED------\n`,
    );
    for (const auth of [
      `user: bsfg, password_file: ${await file("wrong-password", WRONG_PASSWORD)}`,
      `creds_file: ${creds}`,
    ]) {
      const daemon = await startDaemon(await nodeConfig("refused", auth));
      try {
        await eventually(
          () => daemon.logs().some((l) => l.msg === "zone NATS unreachable; retrying"),
          30_000,
          "NATS refusal logged",
        );
        await told(clientFor(daemon.rpcUrl, pki.ca, pki.clients.erp).appendFact(fact("r-1")));
        await endpoints(daemon);
      } finally {
        await stop(daemon);
      }
    }
    expect(said.join("\n")).toMatch(/zone NATS unreachable; retrying/);
  });

  it("in `bsfg validate` and `bsfg serve` refusals, also when a secret is put where it does not belong", async () => {
    const attempts = [
      // Inline secrets are unknown keys; the message names the key, not the value.
      await nodeConfig("inline", `user: bsfg, password: "${INLINE_SECRET}"`),
      // Credentials in a server URL would be logged with the URL.
      await file(
        "url.yaml",
        readFileSync(await nodeConfig("url-base", "user: bsfg"), "utf8").replace(
          nats.url,
          `nats://bsfg:${INLINE_SECRET}@${nats.url.slice("nats://".length)}`,
        ),
      ),
      await nodeConfig("missing", "user: bsfg, password_file: /nonexistent/dir/pw"),
    ];
    for (const config of attempts) {
      for (const command of ["validate", "serve"]) {
        const result = await runBsfg([command, "--config", config]);
        expect(result.code, `${command} ${config}`).toBe(1);
        said.push(result.stdout, result.stderr);
      }
    }
    const env = { BSFG__NATS__PASSWORD: INLINE_SECRET };
    const result = await runBsfg(["validate", "--config", await nodeConfig("env", "user: bsfg")], env);
    expect(result.code).toBe(1);
    said.push(result.stdout, result.stderr);
    const text = said.join("\n");
    expect(text).toMatch(/nats\.servers\.0: must not carry credentials/);
    expect(text).toMatch(/Unrecognized key: "password"/);
  });

  it("none of it contains the password, the private key, an nkey or creds seed", () => {
    const text = said.join("\n");
    expect(text.length).toBeGreaterThan(10_000);
    // The refusals above are in there, with their reasons (the search is not vacuous).
    expect(text).toMatch(/TLS handshake refused/);
    expect(text).toMatch(/could not be decoded/);
    const secrets = [PASSWORD, WRONG_PASSWORD, INLINE_SECRET, NKEY_SEED, CREDS_SEED, BROKEN_KEY_MARKER];
    for (const secret of [...secrets, ...keyPemLines])
      expect(text.includes(secret), `a secret (${secret.slice(0, 8)}…) appears in the node's output`).toBe(
        false,
      );
  });
});
