import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type NatsServerHandle, startNatsServer } from "../fixtures/nats-server.js";
import { type Daemon, runBsfg, startDaemon } from "../fixtures/spawn-bsfg.js";
import { eventually } from "../fixtures/test-node.js";
import { createTestPki, type TestPki } from "../fixtures/test-pki.js";

let nats: NatsServerHandle;
let pki: TestPki;
let daemon: Daemon;
let clientArgs: string[];

beforeAll(async () => {
  [nats, pki] = await Promise.all([startNatsServer(), createTestPki()]);
  const config = join(pki.dir, "cli-objects.yaml");
  await writeFile(
    config,
    JSON.stringify({
      zone: "enterprise",
      role: "external",
      listen: { rpc: "127.0.0.1:0", admin: "127.0.0.1:0" },
      tls: { ca: pki.ca, cert: pki.node.cert, key: pki.node.key },
      nats: { servers: [nats.url] },
      principals: { erp: { put: ["artifacts"], get: ["artifacts"] } },
    }),
  );
  daemon = await startDaemon(config);
  await eventually(async () => (await fetch(`${daemon.adminUrl}/readyz`)).status === 200, 20_000, "ready");
  clientArgs = [
    "--node",
    daemon.rpcUrl,
    "--ca",
    pki.ca,
    "--cert",
    pki.clients.erp.cert,
    "--tls-key",
    pki.clients.erp.key,
  ];
});

afterAll(async () => {
  daemon?.child.kill("SIGKILL");
  await nats?.stop();
});

describe("bsfg put-object / get-object", () => {
  it("uploads a file and downloads it byte for byte, verifying the digest", async () => {
    const data = randomBytes(20 * 1024 * 1024 + 5);
    const source = join(pki.dir, "upload.bin");
    const target = join(pki.dir, "download.bin");
    await writeFile(source, data);
    const digest = `sha256:${createHash("sha256").update(data).digest("hex")}`;

    const put = await runBsfg([
      "put-object",
      source,
      "--bucket",
      "artifacts",
      "--key",
      "docs/upload.bin",
      ...clientArgs,
      "--json",
    ]);
    expect(put.code).toBe(0);
    expect(JSON.parse(put.stdout)).toEqual({
      bucket: "artifacts",
      key: "docs/upload.bin",
      digest,
      size: String(data.length),
    });

    const get = await runBsfg([
      "get-object",
      "--bucket",
      "artifacts",
      "--key",
      "docs/upload.bin",
      "-o",
      target,
      ...clientArgs,
    ]);
    expect(get.code).toBe(0);
    expect(get.stdout).toMatch(
      new RegExp(`^wrote ${target} ${digest} — ${data.length} bytes in [\\d.]+ s \\([\\d.]+ MiB/s\\)\\n$`),
    );
    expect(readFileSync(target).equals(data)).toBe(true);
    // Not a terminal: no progress bar noise on stderr.
    expect(get.stderr).toBe("");
  });

  it("reports refusals with their code and exit 1", async () => {
    const other = join(pki.dir, "other.bin");
    await writeFile(other, randomBytes(1000));
    const conflict = await runBsfg([
      "put-object",
      other,
      "--bucket",
      "artifacts",
      "--key",
      "docs/upload.bin",
      ...clientArgs,
    ]);
    expect(conflict.code).toBe(1);
    expect(conflict.stderr).toMatch(
      /^error: already_exists: key: artifacts\/docs\/upload.bin already holds different bytes/,
    );
    const missing = await runBsfg([
      "get-object",
      "--bucket",
      "artifacts",
      "--key",
      "nope",
      "-o",
      join(pki.dir, "x"),
      ...clientArgs,
      "--json",
    ]);
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.stdout)).toMatchObject({ error: { code: "not_found" } });
  });
});
