import { Command, CommanderError, Option } from "commander";
import { appendCommand } from "./append-command.js";
import type { CliIo } from "./cli-io.js";
import { serveCommand } from "./serve-command.js";
import { validateCommand } from "./validate-command.js";

/** Parses argv and runs one command; resolves with the process exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let exitCode = 0;
  const program = new Command()
    .name("bsfg")
    .description("BSFG zone gateway: store-and-forward of facts and artifacts between network zones")
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .showHelpAfterError();

  program
    .command("serve")
    .description("run the zone node until SIGTERM/SIGINT")
    .requiredOption("-c, --config <file>", "YAML config file")
    .action(async (o: { config: string }) => {
      exitCode = await serveCommand(io, o.config);
    });

  program
    .command("validate")
    .description("check a config file and print every problem with its path")
    .requiredOption("-c, --config <file>", "YAML config file")
    .action((o: { config: string }) => {
      exitCode = validateCommand(io, o.config);
    });

  withClientFlags(
    program
      .command("append")
      .description("append one fact to a zone node")
      .requiredOption("--from-zone <zone>", "the zone the fact is produced in (the node's zone)")
      .requiredOption("--to-zone <zone>", "destination zone")
      .requiredOption("--subject <kind:id>", "fact subject, e.g. order:ENT-1")
      .requiredOption("--predicate <name>", "lower_snake_case predicate")
      .option("--object <json>", "object JSON", "{}")
      .option("--message-id <id>", "idempotency key (default: a new UUID, printed)")
      .option("--category <name>", "category (default: the node's rules)")
      .option("--correlation-id <id>", "correlation id")
      .option("--label <key=value...>", "envelope label (repeatable)")
      .option("--json", "machine-readable output"),
  ).action(async (o: Parameters<typeof appendCommand>[1]) => {
    exitCode = await appendCommand(io, o);
  });

  try {
    await program.parseAsync([...argv], { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    throw error;
  }
  return exitCode;
}

function withClientFlags(command: Command): Command {
  return command
    .option("--node <url>", "node RPC base URL (env BSFG_NODE), e.g. https://127.0.0.1:9443")
    .option("--ca <file>", "zone CA certificate (env BSFG_CA)")
    .option("--cert <file>", "client certificate (env BSFG_CERT)")
    .option("--key <file>", "client key (env BSFG_KEY)")
    .addOption(
      new Option("--protocol <name>", "wire protocol").choices(["connect", "grpc"]).default("connect"),
    );
}
