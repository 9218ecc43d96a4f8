/**
 * `npm run bench -- profile [--facts N] [--batch N] [--dir DIR]`: runs the
 * enterprise node as `node --cpu-prof` through the AppendFact and AppendFacts
 * phases only, then prints the top self-time functions of its profile.
 */
import { mkdtemp, readdir, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseFullArgs } from "./full.js";
import { measureGateway } from "./gateway.js";

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>;
  samples: number[];
  timeDeltas: number[];
}

export function topSelfTime(profile: CpuProfile, top = 25) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  const byPackage = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    total += dt;
    const frame = byId.get(id)?.callFrame;
    if (frame === undefined) return;
    const file = frame.url.replace(/^file:\/\//, "").replace(/^.*\/work\/main\//, "");
    const key = `${frame.functionName || "(anonymous)"} ${file}:${frame.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + dt);
    const pkg =
      /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file)?.[1] ??
      (file.startsWith("src/")
        ? file.split("/").slice(0, 2).join("/")
        : file.startsWith("node:")
          ? "node:*"
          : frame.functionName.startsWith("(")
            ? frame.functionName
            : file || "(native)");
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + dt);
  });
  const rows = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, ms: Math.round(us / 1000), pct: Math.round((1000 * us) / total) / 10 }));
  return { totalMs: Math.round(total / 1000), functions: rows(self), packages: rows(byPackage) };
}

export async function runProfile(argv: readonly string[]): Promise<void> {
  const dirFlag = argv.indexOf("--dir");
  const dir = dirFlag >= 0 ? (argv[dirFlag + 1] as string) : await mkdtemp(join(tmpdir(), "bsfg-cpuprof-"));
  const rest = dirFlag >= 0 ? [...argv.slice(0, dirFlag), ...argv.slice(dirFlag + 2)] : [...argv];
  const o = parseFullArgs(rest);
  const result = await measureGateway({ ...o, cpuProfDir: dir, appendsOnly: true });
  console.log(
    `profiled: AppendFact ${result.appendFact.calls} calls at ${result.appendFact.callsPerSecond}/s; AppendFacts ${result.appendFacts.items} facts at ${result.appendFacts.itemsPerSecond}/s`,
  );
  const files = (await readdir(dir)).filter((f) => f.endsWith(".cpuprofile"));
  if (files.length === 0) throw new Error(`no .cpuprofile written in ${dir}`);
  for (const f of files) {
    const summary = topSelfTime(JSON.parse(await readFile(join(dir, f), "utf8")) as CpuProfile);
    console.log(`\n${join(dir, f)} — ${summary.totalMs} ms sampled; top self time by function:`);
    console.table(summary.functions);
    console.log("self time by package / source dir:");
    console.table(summary.packages.slice(0, 15));
  }
}

/** Prints the profile of each zone's node written under `dir/<zone>/` by `startProfiledNode`. */
export async function printZoneProfiles(dir: string, zones: readonly string[], top: number): Promise<void> {
  for (const name of zones) {
    for (const f of (await readdir(join(dir, name))).filter((f) => f.endsWith(".cpuprofile"))) {
      const summary = topSelfTime(JSON.parse(await readFile(join(dir, name, f), "utf8")) as CpuProfile);
      if (summary.totalMs < 2000) continue; // the tsx loader thread
      console.log(`\n${name}: ${join(dir, name, f)} — ${summary.totalMs} ms sampled`);
      console.table(summary.functions.slice(0, top));
      console.table(summary.packages.slice(0, 12));
    }
  }
}
