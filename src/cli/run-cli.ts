import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import type { appendCommand } from "./append-command.js";
import type { certsCommand } from "./certs-command.js";
import type { CliIo } from "./cli-io.js";
import type { confirmCommand } from "./confirm-command.js";
import type { fetchCommand } from "./fetch-command.js";
import type { getObjectCommand } from "./get-object-command.js";
import type { putObjectCommand } from "./put-object-command.js";
import type { statusCommand } from "./status-command.js";

/**
 * Parses argv and runs one command; resolves with the process exit code. Each
 * command's module is loaded when it runs, so a node (`serve`) does not carry
 * the dev supervisor, the PKI generator or the client commands (~15 MiB of RSS).
 */
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
      exitCode = await (await import("./serve-command.js")).serveCommand(io, o.config);
    });

  program
    .command("validate")
    .description("check a config file and print every problem with its path")
    .requiredOption("-c, --config <file>", "YAML config file")
    .action(async (o: { config: string }) => {
      exitCode = (await import("./validate-command.js")).validateCommand(io, o.config);
    });

  program
    .command("dev")
    .description(
      "run a complete two-zone boundary on this machine (nats-servers, dev PKI, both nodes) until SIGTERM/SIGINT",
    )
    .option("--dir <dir>", "state directory (PKI, JetStream stores, configs, logs, dev.json)", ".bsfg-dev")
    .action(async (o: { dir: string }) => {
      exitCode = await (await import("./dev-command.js")).devCommand(io, o);
    });

  withClientFlags(
    program
      .command("append")
      .description("append one fact to a zone node")
      .option("--from-zone <zone>", "the zone the fact is produced in (the node's zone; default: --zone)")
      .requiredOption("--to-zone <zone>", "destination zone")
      .requiredOption("--subject <kind:id>", "fact subject, e.g. order:ENT-1")
      .requiredOption("--predicate <name>", "lower_snake_case predicate")
      .option("--object <json>", "object JSON", "{}")
      .option("--message-id <id>", "idempotency key (default: a new UUID, printed)")
      .option("--category <name>", "category (default: the node's rules)")
      .option("--correlation-id <id>", "correlation id")
      .option(
        "--object-media-type <type>",
        "the fact references an artifact of this type ({bucket,key,digest,size} in --object)",
      )
      .option("--label <key=value...>", "envelope label (repeatable)")
      .option("--json", "machine-readable output"),
  ).action(async (o: Parameters<typeof appendCommand>[1]) => {
    exitCode = await (await import("./append-command.js")).appendCommand(io, o);
  });

  program
    .command("certs")
    .description("create a development CA (once) and issue node and client certificates (again to rotate)")
    .requiredOption("--out <dir>", "where ca.pem, ca-key.pem, <name>.pem and <name>-key.pem go")
    .option("--ca-name <cn>", "common name of a new CA")
    .option("--server <cn...>", "node identities, e.g. enterprise-bsfg (server and client usage)")
    .option("--client <cn...>", "application identities (client usage)")
    .option("--uri-san <uri...>", "URI SANs to put in every issued certificate")
    .option("--days <n>", "validity of issued certificates", count, 365)
    .option("--json", "machine-readable output")
    .action(async (o: Parameters<typeof certsCommand>[1]) => {
      exitCode = await (await import("./certs-command.js")).certsCommand(io, o);
    });

  withClientFlags(
    program
      .command("put-object")
      .description("stream a file into a bucket of a zone node (progress bar on a terminal)")
      .argument("<file>", "the file to upload")
      .requiredOption("--bucket <name>", "bucket, e.g. artifacts")
      .requiredOption("--key <key>", "object key (immutable once written), e.g. batch/BR-1.pdf")
      .option("--media-type <type>", "media type, e.g. application/pdf")
      .option("--json", "machine-readable output"),
    "--tls-key",
  ).action(async (file: string, o: Parameters<typeof putObjectCommand>[2]) => {
    exitCode = await (await import("./put-object-command.js")).putObjectCommand(io, file, o);
  });

  withClientFlags(
    program
      .command("get-object")
      .description("stream an object from a zone node into a file, verifying its digest")
      .requiredOption("--bucket <name>", "bucket")
      .requiredOption("--key <key>", "object key")
      .requiredOption("-o, --output <file>", "where to write it")
      .option("--json", "machine-readable output"),
    "--tls-key",
  ).action(async (o: Parameters<typeof getObjectCommand>[1]) => {
    exitCode = await (await import("./get-object-command.js")).getObjectCommand(io, o);
  });

  withClientFlags(
    program
      .command("fetch")
      .description("print the facts after a consumer's cursor (does not confirm them)")
      .requiredOption("--consumer <name>", "consumer name (with --dev, a category also works)")
      .option("--limit <n>", "at most this many facts (default: the node's)", count)
      .option("--wait-ms <n>", "wait up to this long for a first fact", count)
      .option("--json", "machine-readable output"),
  ).action(async (o: Parameters<typeof fetchCommand>[1]) => {
    exitCode = await (await import("./fetch-command.js")).fetchCommand(io, o);
  });

  withClientFlags(
    program
      .command("confirm")
      .description("move a consumer's cursor to an offset (cumulative, never backwards)")
      .requiredOption("--consumer <name>", "consumer name (with --dev, a category also works)")
      .requiredOption("--offset <n>", "the last offset processed", offset)
      .option("--json", "machine-readable output"),
  ).action(async (o: Parameters<typeof confirmCommand>[1]) => {
    exitCode = await (await import("./confirm-command.js")).confirmCommand(io, o);
  });

  withDevFlags(
    program
      .command("status")
      .description("show a node's gates, imports and consumer backlogs (from its admin listener)")
      .option("--admin <url>", "admin base URL (env BSFG_ADMIN), e.g. http://127.0.0.1:9464")
      .option("--json", "the /status document as JSON"),
  ).action(async (o: Parameters<typeof statusCommand>[1]) => {
    exitCode = await (await import("./status-command.js")).statusCommand(io, o);
  });

  try {
    await program.parseAsync([...argv], { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    throw error;
  }
  return exitCode;
}

function withDevFlags(command: Command): Command {
  return command
    .option("--dev <file>", "dev.json written by `bsfg dev` (env BSFG_DEV)")
    .option("--zone <zone>", "the dev.json zone to talk to (env BSFG_ZONE)");
}

/**
 * Endpoint and TLS flags. Object commands use `--key` for the object key
 * (as the contract names it), so their TLS key flag is `--tls-key`.
 */
function withClientFlags(command: Command, tlsKeyFlag: "--key" | "--tls-key" = "--key"): Command {
  return withDevFlags(command)
    .option("--node <url>", "node RPC base URL (env BSFG_NODE), e.g. https://127.0.0.1:9443")
    .option("--ca <file>", "zone CA certificate (env BSFG_CA)")
    .option("--cert <file>", "client certificate (env BSFG_CERT)")
    .option(`${tlsKeyFlag} <file>`, "client key (env BSFG_KEY)")
    .addOption(
      new Option("--protocol <name>", "wire protocol").choices(["connect", "grpc"]).default("connect"),
    );
}

function count(value: string): number {
  if (!/^\d{1,9}$/.test(value)) throw new InvalidArgumentError("expected a non-negative integer");
  return Number(value);
}

function offset(value: string): bigint {
  if (!/^\d{1,20}$/.test(value) || BigInt(value) >= 2n ** 64n)
    throw new InvalidArgumentError("expected a non-negative integer offset");
  return BigInt(value);
}
