import { parseArgs } from "node:util";
import { runTorture, summarize } from "./torture.js";

// npm run torture -- --faults N --seed S [--duration D] [--rate R] [--cluster] [--report file.json]
// --cluster: plant-a on a 3-node JetStream cluster (replicas 3), plus cluster-server-kill faults.
// D accepts "90s", "15m" or plain seconds. Exit 1 on any violation.

function durationMs(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (m === null) throw new Error(`--duration: cannot read ${JSON.stringify(text)} (e.g. 90s, 15m)`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? "s") as "ms" | "s" | "m" | "h"];
  return Number(m[1]) * unit;
}

const { values } = parseArgs({
  options: {
    faults: { type: "string", default: "20" },
    seed: { type: "string" },
    duration: { type: "string" },
    rate: { type: "string" },
    "artifact-max-mib": { type: "string" },
    report: { type: "string" },
    cluster: { type: "boolean", default: false },
  },
});
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
const faults = Number(values.faults);
if (!Number.isInteger(faults) || faults < 0 || !Number.isFinite(seed)) {
  process.stderr.write(
    "usage: npm run torture -- --faults N --seed S [--duration D] [--rate R] [--cluster] [--report F]\n",
  );
  process.exit(2);
}
const reportPath = values.report ?? `torture-report-${seed}.json`;
const out = (line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`);
out(
  `torture: seed ${seed}, ${faults} faults${values.duration ? `, over ${values.duration}` : ""}${
    values.cluster ? `, plant-a on a 3-node JetStream cluster` : ""
  }`,
);
const report = await runTorture({
  faults,
  seed,
  ...(values.duration !== undefined && { durationMs: durationMs(values.duration) }),
  ...(values.rate !== undefined && { ratePerSecond: Number(values.rate) }),
  ...(values["artifact-max-mib"] !== undefined && { artifactMaxMiB: Number(values["artifact-max-mib"]) }),
  cluster: values.cluster,
  reportPath,
  log: out,
});
process.stdout.write(`\n${summarize(report)}\nreport: ${reportPath}\n`);
process.exit(report.passed ? 0 : 1);
