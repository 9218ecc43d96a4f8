/**
 * `npm run bench [-- <suite> [args]]`: measurements, never assertions.
 * Suites: idempotency [N] — nats-server RAM per retained fact by dedup mode;
 * artifacts [MiB] — PutObject, GetObject and cross-zone copy throughput.
 */
import { measureArtifacts } from "./artifacts.js";
import { measureIdempotencyMemory } from "./idempotency-memory.js";

const [suite = "idempotency", arg] = process.argv.slice(2);
if (suite === "idempotency") {
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
  console.error(`unknown bench suite "${suite}" (known: idempotency, artifacts)`);
  process.exitCode = 2;
}
