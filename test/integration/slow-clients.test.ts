import { once } from "node:events";
import { readFileSync } from "node:fs";
import http2 from "node:http2";
import net from "node:net";
import tls from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type NatsServerHandle, startNatsServer } from "../fixtures/nats-server.js";
import {
  clientFor,
  eventually,
  type RunningTestNode,
  startTestNode,
  testConfig,
} from "../fixtures/test-node.js";
import { createTestPki, type TestPki } from "../fixtures/test-pki.js";

// Slow and stalling clients (slowloris) against a node with small limits: each
// is cut off by the limit meant for it, the node says why in its log, and
// other clients are served throughout. Outcomes are asserted, never durations.

let nats: NatsServerHandle;
let pki: TestPki;
let running: RunningTestNode;

beforeAll(async () => {
  [nats, pki] = await Promise.all([startNatsServer(), createTestPki()]);
  running = await startTestNode(
    testConfig(nats.url, pki, {
      fetch: { max_wait: "1s" },
      limits: {
        max_header_bytes: "8KiB",
        handshake_timeout: "700ms",
        request_idle_timeout: "700ms",
        request_timeout: "1500ms",
        idle_timeout: "3s",
      },
    }),
  );
  await running.node.whenReady();
});
afterAll(async () => {
  await running?.node.stop();
  await nats?.stop();
});

const fact = (messageId: string) => ({
  envelope: { messageId, fromZone: "enterprise", toZone: "plant-a", producedAtUnixMs: 1n },
  fact: { subject: "order:1", predicate: "created", objectJson: "{}" },
});

function credentials() {
  return {
    ca: readFileSync(pki.ca),
    cert: readFileSync(pki.clients.erp.cert),
    key: readFileSync(pki.clients.erp.key),
  };
}

/** A plain TCP connection; resolves when the server closes it, stopping `feed` then. */
async function closedByServer(feed?: (socket: net.Socket) => NodeJS.Timeout): Promise<"closed"> {
  const socket = net.connect(running.node.rpcAddress.port, "127.0.0.1");
  await once(socket, "connect");
  const timer = feed?.(socket);
  socket.on("error", () => {});
  await closeOf(socket);
  clearInterval(timer);
  return "closed";
}

/**
 * A reset is as much a close as a FIN: the server may destroy the socket with our bytes unread, and
 * events.once would reject on the resulting ECONNRESET instead of waiting for "close".
 */
function closeOf(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => socket.once("close", () => resolve()));
}

function handshakeTimeouts(): number {
  return running
    .logs()
    .filter(
      (l) =>
        l.msg === "TLS handshake refused" &&
        l.reason === "ERR_TLS_HANDSHAKE_TIMEOUT" &&
        l.explanation === "the TLS handshake did not complete within 700 ms",
    ).length;
}

async function stillServes(id: string): Promise<void> {
  const res = await clientFor(running.url, pki.ca, pki.clients.erp).appendFact(fact(id));
  expect(res.duplicate).toBe(false);
}

/** One HTTP/1.1 exchange over TLS: writes `payload` (then a byte every 100 ms if `dribble`), returns all the node said until it closed. */
async function http1(payload: string, dribble = false): Promise<string> {
  const socket = tls.connect({
    ...credentials(),
    host: "127.0.0.1",
    port: running.node.rpcAddress.port,
    servername: "localhost",
    ALPNProtocols: ["http/1.1"],
  });
  await once(socket, "secureConnect");
  let received = "";
  socket.on("data", (d: Buffer) => {
    received += d.toString();
  });
  socket.on("error", () => {});
  socket.write(payload);
  const timer = dribble
    ? setInterval(() => {
        if (!socket.destroyed) socket.write("x");
      }, 100)
    : undefined;
  await closeOf(socket);
  clearInterval(timer);
  return received;
}

describe("slow and stalling clients", () => {
  it("closes a connection that never starts its TLS handshake, saying why", async () => {
    const before = handshakeTimeouts();
    expect(await closedByServer()).toBe("closed");
    await eventually(() => handshakeTimeouts() > before, 10_000, "handshake refusal logged");
    await stillServes("slow-1");
  });

  it("closes a connection that dribbles its handshake a byte at a time: a deadline, not a silence timeout", async () => {
    const before = handshakeTimeouts();
    // A TLS record header announcing a 512-byte ClientHello, then one byte every 100 ms.
    const bytes = Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]), Buffer.alloc(600, 0)]);
    let sent = 0;
    const outcome = await closedByServer((socket) =>
      setInterval(() => {
        if (!socket.destroyed && sent < bytes.length) socket.write(bytes.subarray(sent, ++sent));
      }, 100),
    );
    expect(outcome).toBe("closed");
    // Closed while bytes were still arriving, before the record could even be parsed.
    expect(sent).toBeLessThan(bytes.length);
    await eventually(() => handshakeTimeouts() > before, 10_000, "deadline logged");
    await stillServes("slow-2");
  });

  it("resets an HTTP/2 stream that sends headers and part of a body, then stalls", async () => {
    const session = http2.connect(running.url, credentials());
    try {
      const stream = session.request({
        ":method": "POST",
        ":path": "/bsfg.v1.BoundaryService/AppendFact",
        "content-type": "application/proto",
      });
      stream.on("error", () => {});
      stream.write(Buffer.from([0x0a, 0x40]));
      await once(stream, "close");
      expect(stream.rstCode).toBe(http2.constants.NGHTTP2_CANCEL);
      // The connection survives its stalled stream and serves the next request.
      const next = session.request({
        ":method": "POST",
        ":path": "/bsfg.v1.BoundaryService/AppendFact",
        "content-type": "application/json",
      });
      next.end(JSON.stringify({}));
      const [headers] = (await once(next, "response")) as [http2.IncomingHttpHeaders];
      expect(headers[":status"]).toBe(400);
      next.resume();
    } finally {
      session.close();
    }
    await eventually(
      () =>
        running
          .logs()
          .some(
            (l) =>
              l.msg === "request cut off; stream reset" &&
              l.procedure === "AppendFact" &&
              l.principal === "erp" &&
              /stalled for 700 ms/.test(String(l.reason)),
          ),
      10_000,
      "stall logged",
    );
    await stillServes("slow-3");
  });

  it("resets an HTTP/2 stream that dribbles its body slower than the request deadline allows", async () => {
    const session = http2.connect(running.url, credentials());
    try {
      const stream = session.request({
        ":method": "POST",
        ":path": "/bsfg.v1.BoundaryService/AppendFact",
        "content-type": "application/json",
      });
      stream.on("error", () => {});
      // Each byte keeps the stream from ever being idle for 700 ms.
      const body = Buffer.from(`{"envelope":{"messageId":"${"d".repeat(500)}"}}`);
      let sent = 0;
      const timer = setInterval(() => {
        if (!stream.destroyed && sent < body.length) stream.write(body.subarray(sent, ++sent));
      }, 100);
      await once(stream, "close");
      clearInterval(timer);
      expect(stream.rstCode).toBe(http2.constants.NGHTTP2_CANCEL);
      expect(sent).toBeLessThan(body.length);
    } finally {
      session.close();
    }
    await eventually(
      () =>
        running
          .logs()
          .some(
            (l) =>
              l.msg === "request cut off; stream reset" &&
              /not complete within 1500 ms/.test(String(l.reason)),
          ),
      10_000,
      "deadline logged",
    );
    await stillServes("slow-4");
  });

  it("answers HTTP/1.1 requests whose headers or body stall with 408 and closes them", async () => {
    const partialHeaders = await http1("POST /bsfg.v1.BoundaryService/AppendFact HTTP/1.1\r\nHost: x\r\n");
    expect(partialHeaders).toMatch(/^HTTP\/1\.1 408/);
    const dribbledBody = await http1(
      "POST /bsfg.v1.BoundaryService/AppendFact HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n",
      true,
    );
    expect(dribbledBody).toMatch(/^HTTP\/1\.1 408/);
    await stillServes("slow-5");
  });

  it("answers a request it cannot describe (HTTP/1.0 without Host, an unparseable Host) with 400 and keeps serving", async () => {
    const body = "{}";
    const request = (host: string) =>
      `POST /bsfg.v1.BoundaryService/AppendFact HTTP/1.0\r\n${host}content-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`;
    expect(await http1(request(""))).toMatch(/^HTTP\/1\.1 400/);
    expect(await http1(request("Host: [\r\n"))).toMatch(/^HTTP\/1\.1 400/);
    await stillServes("slow-8");
  });

  it("refuses request headers beyond max_header_bytes on HTTP/2 and HTTP/1.1", async () => {
    const big = "h".repeat(20 * 1024);
    const session = http2.connect(running.url, credentials());
    session.on("error", () => {});
    try {
      // The server enforces its SETTINGS once the client has acknowledged them; a ping round trip orders that.
      await once(session, "remoteSettings");
      await new Promise((resolve) => session.ping(resolve));
      const stream = session.request({
        ":method": "POST",
        ":path": "/bsfg.v1.BoundaryService/AppendFact",
        "content-type": "application/json",
        "x-big": big,
      });
      let status: unknown;
      stream.on("response", (h) => {
        status = h[":status"];
      });
      stream.on("error", () => {});
      stream.end("{}");
      await new Promise((resolve) => stream.on("close", resolve));
      expect(status).toBeUndefined();
      expect(stream.rstCode).toBe(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
    } finally {
      session.destroy();
    }
    const received = await http1(
      `POST /bsfg.v1.BoundaryService/AppendFact HTTP/1.1\r\nHost: x\r\nx-big: ${big}\r\n\r\n`,
    );
    expect(received).toMatch(/^HTTP\/1\.1 431/);
    await stillServes("slow-7");
  });

  it("closes an idle HTTP/2 connection with GOAWAY after idle_timeout", async () => {
    const session = http2.connect(running.url, credentials());
    session.on("error", () => {});
    await once(session, "connect");
    const [code] = (await once(session, "goaway")) as [number];
    expect(code).toBe(http2.constants.NGHTTP2_NO_ERROR);
    session.destroy();
    await stillServes("slow-6");
    expect((await fetch(`${running.adminUrl}/livez`)).status).toBe(200);
  });
});
