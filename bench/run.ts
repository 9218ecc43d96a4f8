/**
 * `npm run bench [-- <suite> [args]]`: measurements, never assertions.
 * Suites: idempotency [N] — nats-server RAM per retained fact by dedup mode.
 */
import { measureIdempotencyMemory } from "./idempotency-memory.js";

const [suite = "idempotency", arg] = process.argv.slice(2);
if (suite === "idempotency") {
  const n = Number(arg ?? 200_000);
  const rows = await measureIdempotencyMemory(n);
  console.log(`nats-server RSS growth per retained fact (${n} facts of ~300 B, 2.9 filestore):`);
  console.table(rows);
} else {
  console.error(`unknown bench suite "${suite}" (known: idempotency)`);
  process.exitCode = 2;
}
