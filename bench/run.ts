/**
 * `npm run bench [-- <suite> [args]]`: measurements, never assertions.
 * Suites: full (the default) [--facts N] [--backlog N] [--json FILE] … — the
 * ARCHITECTURE §9 comparison, see bench/README.md;
 * profile [--facts N] [--dir DIR] — --cpu-prof of the node's append path;
 * drain-profile [--backlog N] [--dir DIR] — --cpu-prof of both nodes during a drain;
 * scaling [--sizes 100,…] [--backlogs 10000,…] — cost by fact size and backlog size;
 * idempotency [N] — nats-server RAM per retained fact by dedup mode;
 * artifacts [MiB] — PutObject, GetObject and cross-zone copy throughput;
 * latency [--rate N] [--seconds S] [--batch B] [--runs R] [--cpu-prof DIR] — end-to-end latency alone;
 * calibrate — what this machine charges a process for sleeping and waking (no BSFG involved);
 * h2load [--requests N] [--clients C] [--streams M] — echo vs gateway under nghttp2's h2load;
 * forward --to URL --ca F --cert F --key F [--port N] — the mTLS forwarder alone, for your own node.
 */
import { execFileSync } from "node:child_process";
import { measureArtifacts } from "./artifacts.js";
import { describeWakeupCost, measureWakeupCost } from "./calibrate.js";
import { runDrainProfile } from "./drain-profile.js";
import { parseFullArgs, runFull } from "./full.js";
import { runForward, runH2load } from "./h2load.js";
import { measureIdempotencyMemory } from "./idempotency-memory.js";
import { runLatency } from "./latency.js";
import { PRODUCTION_NODE_OPTIONS } from "./production-node-options.js";
import { runProfile } from "./profile.js";
import { runScaling } from "./scaling.js";

// Nodes run as in production, compiled (`npm run build`, BSFG_USE_DIST=1):
// under the tsx loader each node carries ~100 MiB more RSS. BSFG_BENCH_TSX=1
// measures the sources as they are instead.
if (process.env.BSFG_BENCH_TSX !== "1") {
  console.error("[bench] npm run build (BSFG_BENCH_TSX=1 skips it and runs the sources under tsx)");
  execFileSync("npm", ["run", "--silent", "build"], { stdio: ["ignore", "ignore", "inherit"] });
  process.env.BSFG_USE_DIST = "1";
}
// The V8 flags deploy/systemd and deploy/docker run the node with.
process.env.NODE_OPTIONS = [process.env.NODE_OPTIONS, PRODUCTION_NODE_OPTIONS].filter(Boolean).join(" ");

const args = process.argv.slice(2);
const suite = args[0] === undefined || args[0].startsWith("--") ? "full" : args[0];
const rest = suite === args[0] ? args.slice(1) : args;
const arg = rest[0];
if (suite === "full") {
  await runFull(parseFullArgs(rest));
} else if (suite === "drain-profile") {
  await runDrainProfile(rest);
} else if (suite === "scaling") {
  await runScaling(rest);
} else if (suite === "latency") {
  await runLatency(rest);
} else if (suite === "calibrate") {
  const cost = await measureWakeupCost();
  console.log(describeWakeupCost(cost));
  console.log(JSON.stringify(cost));
} else if (suite === "h2load") {
  await runH2load(rest);
} else if (suite === "forward") {
  await runForward(rest);
} else if (suite === "profile") {
  await runProfile(rest);
} else if (suite === "idempotency") {
  const n = Number(arg ?? 200_000);
  const rows = await measureIdempotencyMemory(n);
  console.log(`nats-server RSS growth per retained fact (${n} facts of ~300 B, 2.9 filestore):`);
  console.table(rows);
} else if (suite === "artifacts") {
  const mib = Number(arg ?? 256);
  console.log(
    `artifact throughput, one ${mib} MiB object, two zones on this machine (mTLS HTTP/2, nats-server 2.9):`,
  );
  console.table(await measureArtifacts(mib));
} else {
  console.error(
    `unknown bench suite "${suite}" (known: full, latency, calibrate, h2load, forward, scaling, profile, drain-profile, idempotency, artifacts)`,
  );
  process.exitCode = 2;
}
// Fixtures keep handles (sockets, timers) that need not outlive the report.
process.exit();
