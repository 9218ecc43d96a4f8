import { checkReferencedFiles, loadConfigFile } from "../config/load.js";
import type { CliIo } from "./cli-io.js";

/** `bsfg validate --config FILE`: every problem with its path; exit 1 if any. */
export function validateCommand(io: CliIo, configPath: string): number {
  const result = loadConfigFile(configPath, io.env);
  const problems = result.ok ? checkReferencedFiles(result.config) : result.problems;
  if (problems.length > 0) {
    io.stderr.write(`${configPath}: ${problems.length} problem${problems.length === 1 ? "" : "s"}\n`);
    for (const p of problems) io.stderr.write(`  ${p}\n`);
    return 1;
  }
  if (result.ok) {
    const c = result.config;
    io.stdout.write(
      `${configPath}: ok (zone ${c.zone}, role ${c.role}, ${Object.keys(c.categories).length} categories, ${Object.keys(c.peers).length} peers)\n`,
    );
  }
  return 0;
}
