import { createHash, randomBytes } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PutObjectRequest } from "../../src/gen/bsfg/v1/boundary_pb.js";
import { type NatsServerHandle, startNatsServer } from "../fixtures/nats-server.js";
import { clientFor, type RunningTestNode, startTestNode, testConfig } from "../fixtures/test-node.js";
import { createTestPki, type TestPki } from "../fixtures/test-pki.js";

let nats: NatsServerHandle;
let pki: TestPki;
let running: RunningTestNode;

beforeAll(async () => {
  [nats, pki] = await Promise.all([startNatsServer(), createTestPki()]);
  running = await startTestNode(
    testConfig(nats.url, pki, {
      principals: {
        erp: { append: ["operational"], put: ["artifacts"], get: ["artifacts"] },
        stranger: { append: [] },
      },
      buckets: { artifacts: { max_object_bytes: "4MiB" } },
    }),
  );
  await running.node.whenReady();
});
afterAll(async () => {
  await running?.node.stop();
  await nats?.stop();
});

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

function putMessages(
  header: { bucket: string; key: string; mediaType?: string; size?: bigint; sha256?: string },
  data: Uint8Array,
  chunk = 64 * 1024,
): AsyncIterable<PutObjectRequest> {
  return (async function* () {
    yield { part: { case: "header", value: { mediaType: "", ...header } } } as PutObjectRequest;
    for (let i = 0; i < data.length; i += chunk) {
      yield { part: { case: "chunk", value: data.subarray(i, i + chunk) } } as PutObjectRequest;
    }
  })();
}

async function codeOf(p: Promise<unknown>): Promise<Code | "ok"> {
  return p.then(
    () => "ok" as const,
    (e: unknown) => ConnectError.from(e).code,
  );
}

describe("PutObject / GetObject over mTLS", () => {
  it("stores an artifact from a client stream and streams it back with its info", async () => {
    const client = clientFor(running.url, pki.ca, pki.clients.erp);
    const data = randomBytes(1_500_000);
    const put = await client.putObject(
      putMessages(
        {
          bucket: "artifacts",
          key: "batch/BR-7.pdf",
          mediaType: "application/pdf",
          size: BigInt(data.length),
          sha256: sha(data),
        },
        data,
      ),
    );
    expect(put).toMatchObject({
      bucket: "artifacts",
      key: "batch/BR-7.pdf",
      digest: `sha256:${sha(data)}`,
      size: BigInt(data.length),
    });

    const parts: Uint8Array[] = [];
    let info: unknown;
    for await (const res of client.getObject({ bucket: "artifacts", key: "batch/BR-7.pdf" })) {
      if (res.part.case === "info") info = res.part.value;
      else if (res.part.case === "chunk") parts.push(res.part.value);
    }
    expect(info).toMatchObject({
      mediaType: "application/pdf",
      size: BigInt(data.length),
      digest: `sha256:${sha(data)}`,
    });
    expect(Buffer.concat(parts).equals(data)).toBe(true);
  });

  it("answers each bad header and mismatch with a precise code", async () => {
    const client = clientFor(running.url, pki.ca, pki.clients.erp);
    const data = randomBytes(10_000);
    expect(
      await codeOf(client.putObject(putMessages({ bucket: "artifacts", key: "a", size: 5n }, data))),
    ).toBe(Code.FailedPrecondition);
    expect(
      await codeOf(
        client.putObject(putMessages({ bucket: "artifacts", key: "b", sha256: "0".repeat(64) }, data)),
      ),
    ).toBe(Code.FailedPrecondition);
    expect(
      await codeOf(client.putObject(putMessages({ bucket: "artifacts", key: "c", sha256: "XYZ" }, data))),
    ).toBe(Code.InvalidArgument);
    expect(await codeOf(client.putObject(putMessages({ bucket: "nope", key: "d" }, data)))).toBe(
      Code.NotFound,
    );
    expect(
      await codeOf(client.putObject(putMessages({ bucket: "artifacts", key: "/etc/passwd" }, data))),
    ).toBe(Code.InvalidArgument);
    expect(
      await codeOf(
        client.putObject(putMessages({ bucket: "artifacts", key: "big", size: 5n * 1024n * 1024n }, data)),
      ),
    ).toBe(Code.ResourceExhausted);
    expect(
      await codeOf(
        client.putObject(putMessages({ bucket: "artifacts", key: "big2" }, randomBytes(5 * 1024 * 1024))),
      ),
    ).toBe(Code.ResourceExhausted);
    const noHeader = (async function* () {
      yield { part: { case: "chunk", value: data } } as unknown as PutObjectRequest;
    })();
    expect(await codeOf(client.putObject(noHeader))).toBe(Code.InvalidArgument);
    expect(
      await codeOf(
        clientFor(running.url, pki.ca, pki.clients.stranger).putObject(
          putMessages({ bucket: "artifacts", key: "e" }, data),
        ),
      ),
    ).toBe(Code.PermissionDenied);
    const missing = async () => {
      for await (const _ of client.getObject({ bucket: "artifacts", key: "missing" })) break;
    };
    expect(await codeOf(missing())).toBe(Code.NotFound);
  });

  it("keeps keys immutable: same bytes succeed again, different bytes are already_exists", async () => {
    const client = clientFor(running.url, pki.ca, pki.clients.erp);
    const data = randomBytes(3000);
    await client.putObject(putMessages({ bucket: "artifacts", key: "imm" }, data));
    expect((await client.putObject(putMessages({ bucket: "artifacts", key: "imm" }, data))).digest).toBe(
      `sha256:${sha(data)}`,
    );
    expect(
      await codeOf(client.putObject(putMessages({ bucket: "artifacts", key: "imm" }, randomBytes(3000)))),
    ).toBe(Code.AlreadyExists);
  });

  it("accepts a referencing fact only when the artifact is stored with that digest and size", async () => {
    const client = clientFor(running.url, pki.ca, pki.clients.erp);
    const data = randomBytes(20_000);
    await client.putObject(putMessages({ bucket: "artifacts", key: "ref/1.bin" }, data));
    const append = (id: string, ref: object) =>
      client.appendFact({
        envelope: {
          messageId: id,
          fromZone: "enterprise",
          toZone: "plant-a",
          producedAtUnixMs: 1n,
          objectMediaType: "application/octet-stream",
        },
        fact: { subject: "batch:BR-1", predicate: "batch_record_attached", objectJson: JSON.stringify(ref) },
      });
    const good = { bucket: "artifacts", key: "ref/1.bin", digest: `sha256:${sha(data)}`, size: data.length };
    expect(await codeOf(append("ref-ok", good))).toBe("ok");
    expect(await codeOf(append("ref-missing", { ...good, key: "ref/none.bin" }))).toBe(
      Code.FailedPrecondition,
    );
    expect(await codeOf(append("ref-digest", { ...good, digest: `sha256:${"0".repeat(64)}` }))).toBe(
      Code.FailedPrecondition,
    );
    expect(await codeOf(append("ref-size", { ...good, size: 1 }))).toBe(Code.FailedPrecondition);
    expect(await codeOf(append("ref-shape", { bucket: "artifacts" }))).toBe(Code.InvalidArgument);
  });
});
