import { runCli } from "./cli/run-cli.js";

// The only module that touches `process`: it hands the CLI the process's
// streams, environment and signals, and turns the result into an exit code.
const terminationSignal = () =>
  new Promise<string>((resolve) => {
    for (const signal of ["SIGTERM", "SIGINT"] as const) process.once(signal, () => resolve(signal));
  });

try {
  process.exitCode = await runCli(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    terminationSignal,
    isTty: process.stdout.isTTY === true,
    terminal: process.stderr,
    onReload: (handler) => {
      process.on("SIGHUP", handler);
    },
  });
} catch (error) {
  process.stderr.write(`bsfg: ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
}
