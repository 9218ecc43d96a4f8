import { readFileSync } from "node:fs";
import http2 from "node:http2";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AppendFactRequestSchema,
  type PutObjectRequest,
  PutObjectRequestSchema,
} from "../../src/gen/bsfg/v1/boundary_pb.js";
import { type NatsServerHandle, startNatsServer } from "../fixtures/nats-server.js";
import { clientFor, type RunningTestNode, startTestNode, testConfig } from "../fixtures/test-node.js";
import { createTestPki, type TestPki } from "../fixtures/test-pki.js";

// Random and malformed requests against the real mTLS server: every one gets
// a precise client-side code (never internal/unknown), nothing partial is
// stored, and the node stays alive.

let nats: NatsServerHandle;
let pki: TestPki;
let running: RunningTestNode;

const CLIENT_ERRORS = new Set([
  Code.InvalidArgument,
  Code.PermissionDenied,
  Code.ResourceExhausted,
  Code.AlreadyExists,
  Code.FailedPrecondition,
  Code.NotFound,
]);

beforeAll(async () => {
  [nats, pki] = await Promise.all([startNatsServer(), createTestPki()]);
  running = await startTestNode(
    testConfig(nats.url, pki, {
      limits: { max_request_bytes: "256KiB" },
      principals: { erp: { append: ["operational", "audit"], put: ["artifacts"], get: ["artifacts"] } },
    }),
  );
  await running.node.whenReady();
});
afterAll(async () => {
  await running?.node.stop();
  await nats?.stop();
});

async function storedFacts(): Promise<number> {
  const nc = await connect({ servers: nats.url });
  try {
    const jsm = await jetstreamManager(nc);
    let total = 0;
    for (const s of ["facts_operational", "facts_audit", "facts_telemetry"])
      total += (await jsm.streams.info(s)).state.messages;
    return total;
  } finally {
    await nc.close();
  }
}

const text = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "grapheme", maxLength: 40 }),
  fc.constantFrom(
    "",
    "enterprise",
    "plant-a",
    "order:1",
    "order_created",
    "x".repeat(300),
    "a b",
    "\u0000",
    "..",
    "*",
    ">",
  ),
);
const json = fc.oneof(
  fc.json({ maxDepth: 4 }),
  fc.string({ maxLength: 30 }),
  fc.constantFrom(
    "{",
    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]",
    '{"a":1,"a":2}',
    "NaN",
    "1e999",
  ),
);
const appendRequest = fc.record({
  envelope: fc.option(
    fc.record({
      messageId: text,
      fromZone: fc.oneof(text, fc.constant("enterprise")),
      toZone: fc.oneof(text, fc.constant("plant-a")),
      producedAtUnixMs: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
      correlationId: text,
      labels: fc.dictionary(text, text, { maxKeys: 5 }),
      objectMediaType: fc.oneof(fc.constant(""), text),
    }),
    { nil: undefined },
  ),
  fact: fc.option(
    fc.record({ subject: fc.oneof(text, fc.constant("order:1")), predicate: text, objectJson: json }),
    {
      nil: undefined,
    },
  ),
  category: fc.oneof(fc.constant(""), text),
});

// Items the node stores, with labels, unicode and duplicated message ids among them.
const acceptable = fc.record({
  envelope: fc.record({
    messageId: fc.stringMatching(/^ok-[a-z0-9]{1,6}$/),
    fromZone: fc.constant("enterprise"),
    toZone: fc.constant("plant-a"),
    producedAtUnixMs: fc.bigInt({ min: 1n, max: 2n ** 53n - 1n }),
    correlationId: fc.stringMatching(/^[a-z0-9-]{0,10}$/),
    labels: fc.dictionary(
      fc.stringMatching(/^[a-z][a-z0-9]{0,8}$/),
      fc.string({ unit: "grapheme", maxLength: 10 }),
      {
        maxKeys: 3,
      },
    ),
  }),
  fact: fc.record({
    subject: fc.stringMatching(/^order:[a-z0-9]{1,8}$/),
    predicate: fc.constantFrom("created", "order_shipped"),
    objectJson: fc.json({ maxDepth: 3 }),
  }),
  category: fc.constantFrom("", "operational"),
});

// Top-level field 4194303 with wire type 7: not protobuf at all.
const GARBAGE = Buffer.from([0xff, 0xff, 0xff, 0x0f, 0x01, 0x02]);
// Envelope (field 1) holding message_id (field 1) = bytes 0xC3 0x28: not UTF-8.
const BAD_UTF8 = Buffer.from([0x0a, 0x04, 0x0a, 0x02, 0xc3, 0x28]);

interface RawResponse {
  status: number;
  body: Buffer;
  trailers: http2.IncomingHttpHeaders;
}

/** POSTs a raw body to a BoundaryService method on an open HTTP/2 session. */
function rawPost(session: http2.ClientHttp2Session) {
  return (
    method: string,
    body: Buffer,
    contentType = "application/proto",
    headers: Record<string, string> = {},
  ) =>
    new Promise<RawResponse>((resolve, reject) => {
      const req = session.request({
        ":method": "POST",
        ":path": `/bsfg.v1.BoundaryService/${method}`,
        "content-type": contentType,
        ...headers,
      });
      const chunks: Buffer[] = [];
      let status = 0;
      let trailers: http2.IncomingHttpHeaders = {};
      req.on("response", (h) => {
        status = Number(h[":status"]);
        // gRPC "trailers-only" responses carry the status in the headers.
        if (h["grpc-status"] !== undefined) trailers = h;
      });
      req.on("trailers", (t) => {
        trailers = t;
      });
      req.on("data", (d: Buffer) => chunks.push(d));
      req.on("end", () => resolve({ status, body: Buffer.concat(chunks), trailers }));
      req.on("error", reject);
      req.end(body);
    });
}

function envelope(flags: number, data: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head[0] = flags;
  head.writeUInt32BE(data.byteLength, 1);
  return Buffer.concat([head, data]);
}

/** The error of a Connect streaming response's end-stream frame (flag 0x02, JSON). */
function endStreamError(body: Buffer): unknown {
  for (let at = 0; at + 5 <= body.byteLength; ) {
    const length = body.readUInt32BE(at + 1);
    if ((body[at] ?? 0) & 0x02) return JSON.parse(body.subarray(at + 5, at + 5 + length).toString()).error;
    at += 5 + length;
  }
  return undefined;
}

describe("hostile input", () => {
  it("answers random AppendFact requests with precise client codes and stores exactly the accepted ones", async () => {
    const client = clientFor(running.url, pki.ca, pki.clients.erp);
    const before = await storedFacts();
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(appendRequest, async (req) => {
        try {
          const res = await client.appendFact(req);
          if (!res.duplicate) accepted++;
        } catch (error) {
          const e = ConnectError.from(error);
          expect(CLIENT_ERRORS.has(e.code), `${Code[e.code]}: ${e.rawMessage}`).toBe(true);
          expect(e.rawMessage.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 300, seed: 20261121 },
    );
    expect(await storedFacts()).toBe(before + accepted);
    expect((await fetch(`${running.adminUrl}/livez`)).status).toBe(200);
  });

  it("answers random AppendFacts batches alike read by hand (binary) and by protobuf-es (JSON), storing exactly the accepted items", async () => {
    const binary = clientFor(running.url, pki.ca, pki.clients.erp);
    const json = clientFor(running.url, pki.ca, pki.clients.erp, "connect-http1");
    const before = await storedFacts();
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(appendRequest, acceptable), { minLength: 1, maxLength: 6 }),
        async (items) => {
          const first = await binary.appendFacts({ items });
          const again = await json.appendFacts({ items });
          expect(first.results).toHaveLength(items.length);
          first.results.forEach((result, i) => {
            const outcome = result.outcome;
            if (outcome.case === "ok") {
              if (!outcome.value.duplicate) accepted++;
              expect(again.results[i]?.outcome).toEqual({
                ...outcome,
                value: { ...outcome.value, duplicate: true },
              });
            } else {
              expect(outcome.case).toBe("error");
              expect(again.results[i]?.outcome).toEqual(outcome);
              expect([
                "invalid_argument",
                "permission_denied",
                "already_exists",
                "resource_exhausted",
              ]).toContain(outcome.value?.code);
            }
          });
        },
      ),
      { numRuns: 60, seed: 20261122 },
    );
    expect(accepted).toBeGreaterThan(0);
    expect(await storedFacts()).toBe(before + accepted);
  });

  it("refuses an AppendFacts item it cannot decode, naming it, and stores none of the batch", async () => {
    const session = http2.connect(running.url, {
      ca: readFileSync(pki.ca),
      cert: readFileSync(pki.clients.erp.cert),
      key: readFileSync(pki.clients.erp.key),
    });
    const before = await storedFacts();
    try {
      const post = rawPost(session);
      const good = toBinary(
        AppendFactRequestSchema,
        create(AppendFactRequestSchema, {
          envelope: {
            messageId: "undecodable-batch-1",
            fromZone: "enterprise",
            toZone: "plant-a",
            producedAtUnixMs: 1n,
          },
          fact: { subject: "order:1", predicate: "created", objectJson: "{}" },
        }),
      );
      // items: [good, BAD_UTF8], each a length-delimited field 1.
      const batch = Buffer.concat([
        Buffer.from([0x0a, good.length]),
        good,
        Buffer.from([0x0a, BAD_UTF8.length]),
        BAD_UTF8,
      ]);
      const expected =
        "AppendFacts: the request body could not be decoded as bsfg.v1.AppendFactsRequest (protobuf binary): items[1].envelope.message_id: a string field holds bytes that are not valid UTF-8";
      const res = await post("AppendFacts", batch);
      expect(res.status).toBe(400);
      expect(JSON.parse(res.body.toString())).toEqual({ code: "invalid_argument", message: expected });
      const grpc = await post("AppendFacts", envelope(0, batch), "application/grpc", { te: "trailers" });
      expect(grpc.trailers["grpc-status"]).toBe(String(Code.InvalidArgument));
      expect(decodeURIComponent(String(grpc.trailers["grpc-message"]))).toBe(expected);
      // Not even the outer message: named as the public type, not the view it is read as.
      const garbage = await post("AppendFacts", GARBAGE);
      expect(JSON.parse(garbage.body.toString())).toEqual({
        code: "invalid_argument",
        message:
          "AppendFacts: the request body could not be decoded as bsfg.v1.AppendFactsRequest (protobuf binary): illegal tag: field no 4194303 wire type 7",
      });
      const web = await post("AppendFacts", envelope(0, batch), "application/grpc-web+proto");
      expect(
        decodeURIComponent(/grpc-message: (.*)\r\n/.exec(web.body.subarray(5).toString())?.[1] ?? ""),
      ).toBe(expected);
    } finally {
      session.close();
    }
    expect(await storedFacts()).toBe(before);
    expect(
      running
        .logs()
        .some((l) => l.msg === "rpc" && l.procedure === "AppendFacts" && l.code === "invalid_argument"),
    ).toBe(true);
  });

  it("refuses garbage bodies, invalid UTF-8 and oversized messages without crashing", async () => {
    const session = http2.connect(running.url, {
      ca: readFileSync(pki.ca),
      cert: readFileSync(pki.clients.erp.cert),
      key: readFileSync(pki.clients.erp.key),
    });
    try {
      const post = rawPost(session);
      const garbage = await post("AppendFact", GARBAGE);
      expect(garbage.status).toBe(400);
      expect(JSON.parse(garbage.body.toString())).toEqual({
        code: "invalid_argument",
        message:
          "AppendFact: the request body could not be decoded as bsfg.v1.AppendFactRequest (protobuf binary): illegal tag: field no 4194303 wire type 7",
      });
      const badUtf8 = await post("AppendFact", BAD_UTF8);
      expect(JSON.parse(badUtf8.body.toString())).toEqual({
        code: "invalid_argument",
        message:
          "AppendFact: the request body could not be decoded as bsfg.v1.AppendFactRequest (protobuf binary): a string field holds bytes that are not valid UTF-8",
      });
      const truncated = await post("ConfirmReceipt", Buffer.from([0x0a, 0x10, 0x61]));
      expect(JSON.parse(truncated.body.toString())).toMatchObject({
        code: "invalid_argument",
        message: expect.stringMatching(
          /^ConfirmReceipt: the request body could not be decoded .*premature EOF/,
        ),
      });
      const huge = await post("AppendFact", Buffer.alloc(300 * 1024, 0x41), "application/json");
      expect(JSON.parse(huge.body.toString()).code).toBe("resource_exhausted");
      const notJson = await post("AppendFact", Buffer.from("{ this is not json"), "application/json");
      expect(JSON.parse(notJson.body.toString()).code).toBe("invalid_argument");
    } finally {
      session.close();
    }
    const refused = running.logs().filter((l) => l.msg === "rpc" && l.code === "invalid_argument");
    expect(refused.some((l) => l.procedure === "AppendFact" && l.principal === "erp")).toBe(true);
    expect((await fetch(`${running.adminUrl}/livez`)).status).toBe(200);
  });

  it("answers undecodable bodies invalid_argument over gRPC, gRPC-web and streaming RPCs too", async () => {
    const session = http2.connect(running.url, {
      ca: readFileSync(pki.ca),
      cert: readFileSync(pki.clients.erp.cert),
      key: readFileSync(pki.clients.erp.key),
    });
    try {
      const post = rawPost(session);
      const precise = /^AppendFact: the request body could not be decoded as bsfg\.v1\.AppendFactRequest/;
      for (const body of [GARBAGE, BAD_UTF8]) {
        const grpc = await post("AppendFact", envelope(0, body), "application/grpc", { te: "trailers" });
        expect(grpc.trailers["grpc-status"]).toBe(String(Code.InvalidArgument));
        expect(decodeURIComponent(String(grpc.trailers["grpc-message"]))).toMatch(precise);
        const web = await post("AppendFact", envelope(0, body), "application/grpc-web+proto");
        const trailer = web.body.subarray(5).toString();
        expect(web.body[0]).toBe(0x80);
        expect(trailer).toMatch(/grpc-status: 3\r\n/);
        expect(decodeURIComponent(/grpc-message: (.*)\r\n/.exec(trailer)?.[1] ?? "")).toMatch(precise);
      }
      // Server streaming: the single request message is decoded inside the interceptors.
      const get = await post("GetObject", envelope(0, GARBAGE), "application/connect+proto");
      expect(endStreamError(get.body)).toMatchObject({
        code: "invalid_argument",
        message: expect.stringMatching(
          /^GetObject: the request body could not be decoded as bsfg\.v1\.GetObjectRequest/,
        ),
      });
      // Client streaming: a valid header, then a chunk message that is not protobuf.
      const header = Buffer.from(
        toBinary(
          PutObjectRequestSchema,
          create(PutObjectRequestSchema, {
            part: { case: "header", value: { bucket: "artifacts", key: "undecodable.bin", mediaType: "" } },
          }),
        ),
      );
      const put = await post(
        "PutObject",
        Buffer.concat([envelope(0, header), envelope(0, GARBAGE)]),
        "application/connect+proto",
      );
      expect(endStreamError(put.body)).toMatchObject({
        code: "invalid_argument",
        message: expect.stringMatching(
          /^PutObject: the request body could not be decoded as bsfg\.v1\.PutObjectRequest/,
        ),
      });
    } finally {
      session.close();
    }
    expect((await fetch(`${running.adminUrl}/livez`)).status).toBe(200);
  });

  it("answers hundreds of concurrent streams on one connection", async () => {
    const client = clientFor(running.url, pki.ca, pki.clients.erp);
    const results = await Promise.allSettled(
      Array.from({ length: 400 }, (_, i) =>
        client.appendFact({
          envelope: {
            messageId: `conc-${i}`,
            fromZone: "enterprise",
            toZone: "plant-a",
            producedAtUnixMs: 1n,
          },
          fact: { subject: "order:1", predicate: "created", objectJson: "{}" },
        }),
      ),
    );
    expect(results.filter((r) => r.status === "rejected")).toEqual([]);
  });

  it("leaves nothing behind when an upload stream is cut off or malformed midway", async () => {
    const client = clientFor(running.url, pki.ca, pki.clients.erp);
    const abort = new AbortController();
    const truncated = client.putObject(
      (async function* () {
        yield {
          part: {
            case: "header",
            value: { bucket: "artifacts", key: "cut.bin", mediaType: "", size: 10_000_000n },
          },
        } as PutObjectRequest;
        yield { part: { case: "chunk", value: new Uint8Array(100_000) } } as unknown as PutObjectRequest;
        abort.abort();
      })(),
      { signal: abort.signal },
    );
    await expect(truncated).rejects.toBeDefined();
    const twoHeaders = await client
      .putObject(
        (async function* () {
          yield {
            part: { case: "header", value: { bucket: "artifacts", key: "twice.bin", mediaType: "" } },
          } as PutObjectRequest;
          yield { part: { case: "chunk", value: new Uint8Array(10) } } as unknown as PutObjectRequest;
          yield {
            part: { case: "header", value: { bucket: "artifacts", key: "twice.bin", mediaType: "" } },
          } as PutObjectRequest;
        })(),
      )
      .catch((e: unknown) => ConnectError.from(e));
    expect((twoHeaders as ConnectError).code).toBe(Code.InvalidArgument);
    for (const key of ["cut.bin", "twice.bin"]) {
      const missing = await (async () => {
        try {
          for await (const _ of client.getObject({ bucket: "artifacts", key })) break;
          return "present";
        } catch (e) {
          return Code[ConnectError.from(e).code];
        }
      })();
      expect(missing).toBe("NotFound");
    }
    // A streaming RPC is logged with the outcome its stream ended with, not "ok" when it started.
    expect(
      running.logs().some((l) => l.msg === "rpc" && l.procedure === "GetObject" && l.code === "not_found"),
    ).toBe(true);
    expect(
      running.logs().some((l) => l.msg === "rpc" && l.procedure === "GetObject" && l.code === "ok"),
    ).toBe(false);
    const nc = await connect({ servers: nats.url });
    try {
      const jsm = await jetstreamManager(nc);
      const staged = async () =>
        Object.keys(
          (await jsm.streams.info("objects_artifacts", { subjects_filter: "objects.artifacts.c.>" })).state
            .subjects ?? {},
        ).length;
      await expect.poll(staged, { timeout: 10_000 }).toBe(0);
    } finally {
      await nc.close();
    }
  });
});
