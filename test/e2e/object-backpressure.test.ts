import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PutObjectRequest } from "../../src/gen/bsfg/v1/boundary_pb.js";
import { type NatsServerHandle, startNatsServer } from "../fixtures/nats-server.js";
import { type Daemon, startDaemon } from "../fixtures/spawn-bsfg.js";
import { clientFor, eventually } from "../fixtures/test-node.js";
import { createTestPki, type TestPki } from "../fixtures/test-pki.js";

let nats: NatsServerHandle;
let pki: TestPki;
let daemon: Daemon;
let configPath: string;

const rssBytes = (pid: number) =>
  Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]) * 1024;

beforeAll(async () => {
  [nats, pki] = await Promise.all([startNatsServer(), createTestPki()]);
  configPath = join(pki.dir, "objects.yaml");
  await writeFile(
    configPath,
    JSON.stringify({
      zone: "enterprise",
      role: "external",
      listen: { rpc: "127.0.0.1:0", admin: "127.0.0.1:0" },
      tls: { ca: pki.ca, cert: pki.node.cert, key: pki.node.key },
      nats: { servers: [nats.url] },
      principals: { erp: { put: ["artifacts"], get: ["artifacts"] } },
      log_level: "info",
    }),
  );
  daemon = await startDaemon(configPath);
  await eventually(async () => (await fetch(`${daemon.adminUrl}/readyz`)).status === 200, 20_000, "ready");
});

afterAll(async () => {
  daemon?.child.kill("SIGKILL");
  await nats?.stop();
});

describe("GetObject back-pressure", () => {
  it("does not buffer a large object in the node while the reader is stalled", async () => {
    const client = clientFor(daemon.rpcUrl, pki.ca, pki.clients.erp);
    const block = Buffer.alloc(1024 * 1024);
    const size = 200 * block.length;
    const hash = createHash("sha256");
    const put = await client.putObject(
      (async function* () {
        yield {
          part: { case: "header", value: { bucket: "artifacts", key: "big.bin", mediaType: "" } },
        } as PutObjectRequest;
        for (let i = 0; i < 200; i++) {
          block.fill(i);
          hash.update(block);
          yield { part: { case: "chunk", value: Buffer.from(block) } } as unknown as PutObjectRequest;
        }
      })(),
    );
    expect(put.digest).toBe(`sha256:${hash.digest("hex")}`);
    // A fresh node process, so the upload's garbage cannot hide what the download allocates.
    daemon.child.kill("SIGTERM");
    await daemon.exited;
    daemon = await startDaemon(configPath);
    await eventually(
      async () => (await fetch(`${daemon.adminUrl}/readyz`)).status === 200,
      20_000,
      "ready again",
    );
    const client2 = clientFor(daemon.rpcUrl, pki.ca, pki.clients.erp);
    const pid = daemon.child.pid as number;
    const before = rssBytes(pid);

    const iterator = client2.getObject({ bucket: "artifacts", key: "big.bin" })[Symbol.asyncIterator]();
    let received = 0;
    const readHash = createHash("sha256");
    const take = (res: Awaited<ReturnType<typeof iterator.next>>) => {
      if (res.done !== true && res.value.part.case === "chunk") {
        received += res.value.part.value.length;
        readHash.update(res.value.part.value);
      }
    };
    take(await iterator.next());
    take(await iterator.next());
    // The reader stalls: only flow-control windows and the node's small read-ahead may fill up.
    await new Promise((r) => setTimeout(r, 3000));
    const stalled = rssBytes(pid);
    expect(stalled - before).toBeLessThan(48 * 1024 * 1024);

    for (let next = await iterator.next(); next.done !== true; next = await iterator.next()) take(next);
    expect(received).toBe(size);
    expect(`sha256:${readHash.digest("hex")}`).toBe(put.digest);
  });
});
