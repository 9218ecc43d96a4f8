/**
 * `npm run bench -- h2load [--requests N] [--clients C] [--streams M] [--batch B] [--batch-requests N] [--json FILE]`:
 * the same anchor-vs-gateway comparison with an independent load generator,
 * nghttp2's h2load, instead of our connect-node client. h2load cannot
 * present a client certificate, so it speaks HTTP/2 with prior knowledge to
 * bench/mtls-forwarder.ts, which carries each connection to the server over
 * mTLS. h2load sends one body again and again: after the first request the
 * gateway answers every AppendFact as a retry (duplicate: true), decided by
 * its message_id index: a refused claim write plus one index read, the same
 * two NATS operations a first append costs.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import { AppendFactRequestSchema, AppendFactsRequestSchema } from "../src/gen/bsfg/v1/boundary_pb.js";
import { createTestPki } from "../test/fixtures/test-pki.js";
import { startZones } from "../test/fixtures/zones.js";
import { request } from "./gateway.js";
import { cpuPerItem, RssSampler, round, stopChild } from "./load.js";
import { type MtlsForwarder, startMtlsForwarder } from "./mtls-forwarder.js";
import { startEcho } from "./start-echo.js";

const DEFAULT_JSON = "bench/results/h2load.json";

interface H2loadRun {
  readonly requests: number;
  readonly ok2xx: number;
  readonly reqPerSecond: number;
  readonly cpuMicrosPerRequest: Record<string, number>;
  readonly peakRssMiB: Record<string, number>;
}

const COUNTS = { requests: 20_000, clients: 4, streams: 64, batch: 250, "batch-requests": 400 };

/**
 * The command's flags; an unknown flag or a count that is not a positive
 * integer is refused, so a mistyped run does not quietly measure (and
 * overwrite the results of) another one.
 */
export function parseH2loadArgs(argv: readonly string[]) {
  const counts: Record<string, number> = { ...COUNTS };
  let json = DEFAULT_JSON;
  for (let i = 0; i < argv.length; i += 2) {
    const name = (argv[i] as string).replace(/^--/, "");
    const value = argv[i + 1];
    if (!(argv[i] as string).startsWith("--") || !(name in COUNTS || name === "json"))
      throw new Error(
        `h2load: unknown argument ${argv[i]} (flags: --${[...Object.keys(COUNTS), "json"].join(", --")})`,
      );
    if (value === undefined) throw new Error(`h2load: --${name} needs a value`);
    if (name === "json") json = value;
    else if (!/^[1-9][0-9]*$/.test(value))
      throw new Error(`h2load: --${name} must be a positive integer, not ${value}`);
    else counts[name] = Number(value);
  }
  return {
    requests: counts.requests as number,
    clients: counts.clients as number,
    streams: counts.streams as number,
    batch: counts.batch as number,
    batchRequests: counts["batch-requests"] as number,
    json,
  };
}

export async function runH2load(argv: readonly string[]): Promise<void> {
  const { json, ...o } = parseH2loadArgs(argv);
  try {
    execFileSync("h2load", ["--version"], { stdio: "ignore" });
  } catch {
    throw new Error("h2load is not on PATH: install it with `sudo apt-get install -y nghttp2-client`");
  }
  const dir = await mkdtemp(join(tmpdir(), "bsfg-h2load-"));
  const unaryBody = join(dir, "append-fact.bin");
  const batchBody = join(dir, "append-facts.bin");
  await writeFile(
    unaryBody,
    toBinary(AppendFactRequestSchema, create(AppendFactRequestSchema, request("h2", 0))),
  );
  const items = Array.from({ length: o.batch }, (_, i) => request("h2b", i));
  await writeFile(batchBody, toBinary(AppendFactsRequestSchema, create(AppendFactsRequestSchema, { items })));

  const rows: Array<Record<string, string | number>> = [];
  const results: Record<string, H2loadRun> = {};
  const measure = async (target: string, servers: Record<string, () => number | undefined>, url: string) => {
    for (const [procedure, body, n] of [
      ["AppendFact", unaryBody, o.requests],
      ["AppendFacts", batchBody, o.batchRequests],
    ] as const) {
      // The first request stores the facts; the timed ones are all answered as retries.
      await h2load(`${url}/bsfg.v1.BoundaryService/${procedure}`, body, 1, 1, 1);
      const r = await h2load(
        `${url}/bsfg.v1.BoundaryService/${procedure}`,
        body,
        n,
        o.clients,
        o.streams,
        servers,
      );
      results[`${target} ${procedure}`] = r;
      const facts = procedure === "AppendFacts" ? o.batch : 1;
      const echo = results[`echo ${procedure}`];
      rows.push({
        server: target,
        procedure: procedure === "AppendFacts" ? `AppendFacts of ${o.batch}` : procedure,
        requests: r.requests,
        "2xx": r.ok2xx,
        "req/s": round(r.reqPerSecond, 0),
        "facts/s": round(r.reqPerSecond * facts, 0),
        "vs echo":
          target === "echo" || echo === undefined ? "anchor" : round(r.reqPerSecond / echo.reqPerSecond, 2),
        "server CPU µs/req": r.cpuMicrosPerRequest[target] ?? "",
        "its nats-server CPU µs/req": r.cpuMicrosPerRequest["nats-server"] ?? "",
        "forwarder CPU µs/req": r.cpuMicrosPerRequest.forwarder ?? "",
        "server RSS MiB": r.peakRssMiB[target] ?? "",
      });
    }
  };

  const pki = await createTestPki();
  const echo = await startEcho(pki.ca, pki.node.cert, pki.node.key);
  let forwarder: MtlsForwarder | undefined;
  try {
    forwarder = await forwarderTo(echo.url, pki.ca, pki.clients.erp);
    await measure("echo", { echo: () => echo.child.pid }, forwarder.url);
  } finally {
    await forwarder?.close();
    await stopChild(echo.child);
  }
  const zones = await startZones(["enterprise", "plant-a"], () => ({ log_level: "warn" }));
  try {
    const ent = zones.zone("enterprise");
    forwarder = await forwarderTo(ent.rpcUrl, zones.ca, ent.app);
    await measure(
      "gateway",
      { gateway: () => ent.node.pid, "nats-server": () => ent.nats.pid },
      forwarder.url,
    );
  } finally {
    await forwarder?.close();
    await zones.stop();
  }
  console.log(
    `h2load -n ${o.requests} -c ${o.clients} -m ${o.streams} (AppendFacts: -n ${o.batchRequests}), through the mTLS forwarder; retries of stored facts:`,
  );
  console.table(rows);
  await writeFile(
    json,
    `${JSON.stringify({ startedAt: new Date().toISOString(), options: o, results, table: rows }, null, 2)}\n`,
  );
  console.log(`wrote ${json}`);
}

/**
 * `npm run bench -- forward --to https://host:port --ca F --cert F --key F [--port N]`: the
 * forwarder alone, for pointing h2load (or any load generator without client certificates)
 * at a node of your own; runs until interrupted.
 */
export async function runForward(argv: readonly string[]): Promise<void> {
  const flag = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const [to, ca, cert, key] = ["to", "ca", "cert", "key"].map(flag);
  if (to === undefined || ca === undefined || cert === undefined || key === undefined)
    throw new Error("usage: forward --to https://host:port --ca FILE --cert FILE --key FILE [--port N]");
  const f = await startMtlsForwarder({
    target: to,
    ca: readFileSync(ca),
    cert: readFileSync(cert),
    key: readFileSync(key),
    port: Number(flag("port") ?? 0),
  });
  console.log(`forwarding ${f.url} → ${to} (mTLS as ${cert}); for example:`);
  console.log(
    `  h2load -n 20000 -c 4 -m 64 -d body.bin -H 'content-type: application/proto' -H 'connect-protocol-version: 1' ${f.url}/bsfg.v1.BoundaryService/AppendFact`,
  );
  await new Promise<void>((resolve) => process.once("SIGINT", resolve));
  await f.close();
}

function forwarderTo(target: string, ca: string, who: { cert: string; key: string }) {
  return startMtlsForwarder({
    target,
    ca: readFileSync(ca),
    cert: readFileSync(who.cert),
    key: readFileSync(who.key),
  });
}

/** Runs h2load to the end and reads its summary; `pids` adds processes whose CPU and RSS to sample. */
async function h2load(
  url: string,
  body: string,
  requests: number,
  clients: number,
  streams: number,
  pids: Record<string, () => number | undefined> = {},
): Promise<H2loadRun> {
  const child: ChildProcess = spawn(
    "h2load",
    [
      "-n",
      String(requests),
      "-c",
      String(clients),
      "-m",
      String(streams),
      "-d",
      body,
      "-H",
      "content-type: application/proto",
      "-H",
      "connect-protocol-version: 1",
      url,
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const sampler = new RssSampler({ ...pids, forwarder: () => process.pid });
  let out = "";
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  const [code] = (await once(child, "exit")) as [number | null];
  const samples = sampler.stop();
  if (code !== 0) throw new Error(`h2load exited with ${code}:\n${out}`);
  const finished = /finished in [\d.]+\w*, ([\d.]+) req\/s/.exec(out);
  const status = /status codes: (\d+) 2xx/.exec(out);
  if (finished === null || status === null) throw new Error(`cannot read h2load's summary:\n${out}`);
  const ok2xx = Number(status[1]);
  if (ok2xx !== requests) throw new Error(`h2load: ${ok2xx} of ${requests} requests answered 2xx:\n${out}`);
  return {
    requests,
    ok2xx,
    reqPerSecond: Number(finished[1]),
    cpuMicrosPerRequest: cpuPerItem(samples, requests),
    peakRssMiB: Object.fromEntries(Object.entries(samples).map(([name, s]) => [name, s.peakMiB])),
  };
}
