import { startZoneNode } from "../app.js";
import { checkReferencedFiles, loadConfigFile } from "../config/load.js";
import type { CliIo } from "./cli-io.js";

/**
 * `bsfg serve --config FILE`: runs the node until SIGTERM/SIGINT, then drains
 * and exits 0; a node that cannot run (bad config, unreconcilable streams)
 * exits 1 with the reason on stderr.
 */
export async function serveCommand(io: CliIo, configPath: string): Promise<number> {
  const result = loadConfigFile(configPath, io.env);
  const problems = result.ok ? checkReferencedFiles(result.config) : result.problems;
  if (!result.ok || problems.length > 0) {
    io.stderr.write(`${configPath}: cannot start\n`);
    for (const p of problems) io.stderr.write(`  ${p}\n`);
    return 1;
  }
  let node: Awaited<ReturnType<typeof startZoneNode>>;
  try {
    node = await startZoneNode(result.config);
  } catch (error) {
    io.stderr.write(`cannot start: ${(error as Error).message}\n`);
    return 1;
  }
  // SIGHUP re-reads the TLS files (certificate rotation without restart).
  io.onReload?.(() => node.reloadTls());
  const outcome = await Promise.race([
    io.terminationSignal().then((signal) => ({ kind: "signal" as const, signal })),
    node.fatal.then((error) => ({ kind: "fatal" as const, error })),
  ]);
  if (outcome.kind === "signal") node.logger.info({ signal: outcome.signal }, "termination signal received");
  await node.stop();
  if (outcome.kind === "fatal") {
    io.stderr.write(`cannot start: ${outcome.error.message}\n`);
    return 1;
  }
  return 0;
}
