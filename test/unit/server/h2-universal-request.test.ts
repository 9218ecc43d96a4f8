import { once } from "node:events";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { Code, ConnectError, createContextValues } from "@connectrpc/connect";
import type { UniversalServerResponse } from "@connectrpc/connect/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { type H2UniversalRequest, universalRequestFromH2 } from "../../../src/server/h2-universal-request.js";
import { writeUnaryResponse } from "../../../src/server/write-unary-response.js";

type OnRequest = (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void;

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

async function serve(onRequest: OnRequest): Promise<http2.ClientHttp2Session> {
  const server = http2.createServer(onRequest);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const client = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  cleanups.push(() => {
    client.destroy();
    server.close();
  });
  return client;
}

interface Served {
  readonly u: H2UniversalRequest;
  readonly req: http2.Http2ServerRequest;
  readonly res: http2.Http2ServerResponse;
}

/** Serves one request through universalRequestFromH2 and hands it to the test. */
async function oneRequest(): Promise<{ client: http2.ClientHttp2Session; next: Promise<Served> }> {
  let deliver: (served: Served) => void;
  const next = new Promise<Served>((resolve) => {
    deliver = resolve;
  });
  const client = await serve((req, res) =>
    deliver({ u: universalRequestFromH2(req, createContextValues()), req, res }),
  );
  return { client, next };
}

async function bodyOf(u: H2UniversalRequest): Promise<string> {
  let text = "";
  for await (const chunk of u.request.body as AsyncIterable<Uint8Array>)
    text += Buffer.from(chunk).toString();
  return text;
}

describe("universalRequestFromH2", () => {
  it("carries the method, URL, headers without pseudo-headers, and the body", async () => {
    const { client, next } = await oneRequest();
    const stream = client.request({
      ":method": "POST",
      ":path": "/bsfg.v1.BoundaryService/AppendFact?x=1",
      ":authority": "node.example:7443",
      "content-type": "application/proto",
      "connect-timeout-ms": "500",
    });
    stream.write("first,");
    stream.end("second");
    const { u } = await next;
    expect(u.request.method).toBe("POST");
    expect(u.request.httpVersion).toBe("2.0");
    expect(new URL(u.request.url).pathname).toBe("/bsfg.v1.BoundaryService/AppendFact");
    expect(u.request.url).toBe("http://node.example:7443/bsfg.v1.BoundaryService/AppendFact?x=1");
    expect([...u.request.header.keys()].sort()).toEqual(["connect-timeout-ms", "content-type"]);
    expect(u.request.header.get("connect-timeout-ms")).toBe("500");
    expect(await bodyOf(u)).toBe("first,second");
    stream.close();
  });

  it("puts an authority no URL parser accepts aside, keeping the path and query", async () => {
    const { client, next } = await oneRequest();
    const stream = client.request({ ":method": "POST", ":path": "/svc/Method?q=1", ":authority": "[" });
    stream.end();
    const { u } = await next;
    const url = new URL(u.request.url);
    expect([url.host, url.pathname, url.search]).toEqual(["localhost", "/svc/Method", "?q=1"]);
  });

  it.each([
    [http2.constants.NGHTTP2_CANCEL, Code.Canceled],
    [http2.constants.NGHTTP2_ENHANCE_YOUR_CALM, Code.ResourceExhausted],
    [http2.constants.NGHTTP2_INTERNAL_ERROR, Code.Internal],
    [http2.constants.NGHTTP2_REFUSED_STREAM, Code.Unavailable],
  ])("aborts the signal of a request its client resets (code %i) before the response", async (rst, code) => {
    const { client, next } = await oneRequest();
    const stream = client.request({ ":method": "POST", ":path": "/p" });
    // Node reports a stream this side closed with an error code as an error of its own.
    stream.on("error", () => {});
    const { u } = await next;
    expect(u.request.signal.aborted).toBe(false);
    stream.close(rst);
    await once(u.request.signal, "abort");
    expect(u.request.signal.reason).toBeInstanceOf(ConnectError);
    expect((u.request.signal.reason as ConnectError).code).toBe(code);
  });

  it("leaves the signal alone when the stream closes after settle()", async () => {
    const { client, next } = await oneRequest();
    const stream = client.request({ ":method": "POST", ":path": "/p" });
    stream.end();
    const { u, req, res } = await next;
    u.settle();
    res.end();
    await once(req, "close");
    expect(u.request.signal.aborted).toBe(false);
    stream.close();
  });
});

describe("writeUnaryResponse", () => {
  const response = (chunks: string[]): UniversalServerResponse => ({
    status: 200,
    header: new Headers({ "content-type": "application/proto", "x-extra": "yes" }),
    body: (async function* () {
      for (const c of chunks) yield Buffer.from(c);
    })(),
  });

  it("writes the status, headers and every chunk of the body", async () => {
    const { client, next } = await oneRequest();
    const stream = client.request({ ":method": "POST", ":path": "/p" });
    stream.end();
    const { res } = await next;
    expect(await writeUnaryResponse(response(["one,", "two"]), res)).toBe(true);
    const [headers] = (await once(stream, "response")) as [http2.IncomingHttpHeaders];
    let text = "";
    for await (const chunk of stream) text += String(chunk);
    expect(headers[":status"]).toBe(200);
    expect(headers["content-type"]).toBe("application/proto");
    expect(headers["x-extra"]).toBe("yes");
    expect(text).toBe("one,two");
  });

  it("writes every value of a repeated set-cookie", async () => {
    const { client, next } = await oneRequest();
    const stream = client.request({ ":method": "POST", ":path": "/p" });
    stream.end();
    const { res } = await next;
    const header = new Headers();
    header.append("set-cookie", "a=1");
    header.append("set-cookie", "b=2");
    await writeUnaryResponse({ status: 200, header, body: (async function* () {})() }, res);
    const [headers] = (await once(stream, "response")) as [http2.IncomingHttpHeaders];
    expect(headers["set-cookie"]).toEqual(["a=1", "b=2"]);
    stream.close();
  });

  it("writes nothing once the client has reset the stream", async () => {
    const { client, next } = await oneRequest();
    const stream = client.request({ ":method": "POST", ":path": "/p" });
    const { req, res } = await next;
    stream.close(http2.constants.NGHTTP2_CANCEL);
    await once(req, "close");
    expect(await writeUnaryResponse(response(["late"]), res)).toBe(false);
  });
});
