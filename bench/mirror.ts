/**
 * The substrate anchors: raw nats.js JetStream publish (300 B, many in
 * flight) into a stream on a fresh nats-server, and NATS's own leafnode
 * mirror of that backlog into a second nats-server in another JetStream
 * domain (nats-and-connect-notes.md §5). The mirror is created only after the
 * whole backlog is stored, so it starts with all of it pending, like the
 * gateway's receiver after a healed partition.
 */
import { setTimeout as delay } from "node:timers/promises";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { freePort } from "../src/dev/free-port.js";
import { startNatsServer } from "../test/fixtures/nats-server.js";
import { measurePairs, measureRelay, type RelayResult } from "./ceilings.js";
import { type Floors, measureFloors } from "./floors.js";
import { drive, type LoadResult, objectJson, type ProcessSample, RssSampler, round } from "./load.js";

type Samples = Record<string, ProcessSample>;

export interface SubstrateResult {
  readonly rawPublish: LoadResult & { inFlight: number; rss: Samples };
  readonly mirror: {
    readonly messages: number;
    readonly seconds: number;
    readonly messagesPerSecond: number;
    readonly rss: Samples;
  };
  /** The NATS client's own ceilings for the gateway's two storage paths (bench/ceilings.ts). */
  readonly ceilings: {
    readonly pairs: LoadResult & { rss: Samples };
    readonly relay: RelayResult & { rss: Samples };
  };
  /** The same paths through a minimal service on the same dependencies, RPC included (bench/floors.ts). */
  readonly floors: Floors;
}

export async function measureSubstrate(options: {
  readonly backlog: number;
  readonly inFlight: number;
  readonly maxMs: number;
  /** The gateway's AppendFacts load, for the bare service's floor. */
  readonly facts: number;
  readonly batch: number;
  readonly batchConcurrency: number;
  readonly connections: number;
}): Promise<SubstrateResult> {
  const leafPort = await freePort();
  const origin = await startNatsServer({
    configText: `server_name: zonea\njetstream { domain: zonea }\nleafnodes { listen: "127.0.0.1:${leafPort}" }\n`,
  });
  let hub: Awaited<ReturnType<typeof startNatsServer>> | undefined;
  const ncA = await connect({ servers: origin.url });
  try {
    const jsmA = await jetstreamManager(ncA);
    await jsmA.streams.add({ name: "SRC", subjects: ["zonea.data.>"] });
    const js = jetstream(ncA);
    const payloads = Array.from({ length: 1024 }, (_, i) => new TextEncoder().encode(objectJson(i)));
    // Warm-up outside the measurement (connection, server allocator, JIT).
    await drive({
      total: 2000,
      concurrency: options.inFlight,
      maxMs: 10_000,
      call: async (i) => {
        await js.publish(`zonea.data.warm`, payloads[i % 1024]);
        return 1;
      },
    }).catch(() => undefined);
    const originPid = origin.pid;
    const atOrigin = {
      "nats-server (origin)": () => originPid,
      "bench process (nats.js)": () => process.pid,
    };
    const publishRss = new RssSampler(atOrigin);
    const rawPublish = await drive({
      total: options.backlog,
      concurrency: options.inFlight,
      maxMs: options.maxMs,
      call: async (i) => {
        await js.publish(`zonea.data.${i % 16}`, payloads[i % 1024]);
        return 1;
      },
    });
    const rawPublishRss = publishRss.stop();
    const stored = (await jsmA.streams.info("SRC")).state.last_seq;

    hub = await startNatsServer({
      configText: `server_name: zoneb\njetstream { domain: zoneb }\nleafnodes { remotes: [ { urls: ["nats-leaf://127.0.0.1:${leafPort}"] } ] }\n`,
    });
    const ncB = await connect({ servers: hub.url });
    try {
      // The leafnode is up once zone A's JetStream API answers from zone B.
      const remote = await jetstreamManager(ncB, { domain: "zonea", timeout: 2000 });
      const deadline = Date.now() + 30_000;
      for (;;) {
        try {
          await remote.streams.info("SRC");
          break;
        } catch (error) {
          if (Date.now() > deadline) throw new Error(`leafnode never connected: ${String(error)}`);
          await delay(100);
        }
      }
      const jsmB = await jetstreamManager(ncB);
      const hubPid = hub.pid;
      const rss = new RssSampler({
        "nats-server (mirror side)": () => hubPid,
        "nats-server (origin)": () => originPid,
      });
      const started = performance.now();
      await jsmB.streams.add({ name: "MIR", mirror: { name: "SRC", domain: "zonea" } });
      const until = Date.now() + options.maxMs;
      for (;;) {
        const last = (await jsmB.streams.info("MIR")).state.last_seq;
        if (last >= stored) break;
        if (Date.now() > until) throw new Error(`mirror reached ${last} of ${stored} in ${options.maxMs} ms`);
        await delay(20);
      }
      const seconds = (performance.now() - started) / 1000;
      const mirrorRss = rss.stop();

      const both = { ...atOrigin, "nats-server (relay target)": () => hubPid };
      const relayRss = new RssSampler(both);
      const relay = await measureRelay({
        from: { nc: ncA, jsm: jsmA, stream: "SRC" },
        to: { nc: ncB, jsm: jsmB },
        messages: stored,
        maxMs: options.maxMs,
      });
      const relaySamples = relayRss.stop();
      const pairsRss = new RssSampler(atOrigin);
      const pairs = await measurePairs({
        nc: ncA,
        jsm: jsmA,
        facts: options.backlog,
        inFlight: options.inFlight,
        maxMs: options.maxMs,
      });
      const pairsSamples = pairsRss.stop();
      const floors = await measureFloors({
        origin: { url: origin.url, pid: originPid, jsm: jsmA },
        stream: "SRC",
        target: { pid: hubPid, nc: ncB, jsm: jsmB },
        messages: stored,
        facts: options.facts,
        batch: options.batch,
        batchConcurrency: options.batchConcurrency,
        connections: options.connections,
        maxMs: options.maxMs,
      });
      return {
        rawPublish: { ...rawPublish, inFlight: options.inFlight, rss: rawPublishRss },
        mirror: {
          messages: rawPublish.calls,
          seconds: round(seconds, 3),
          // The mirror copies the whole origin stream (warm-up included); rate over all of it.
          messagesPerSecond: Math.round(stored / seconds),
          rss: mirrorRss,
        },
        ceilings: { pairs: { ...pairs, rss: pairsSamples }, relay: { ...relay, rss: relaySamples } },
        floors,
      };
    } finally {
      await ncB.close();
    }
  } finally {
    await ncA.close();
    await hub?.stop();
    await origin.stop();
  }
}
