import { ConnectError } from "@connectrpc/connect";
import { codeName } from "../rpc/error-mapping.js";
import type { CliIo } from "./cli-io.js";

/** Prints a refusal the way every client command does and returns exit code 1. */
export function fail(io: CliIo, json: boolean | undefined, code: string, message: string): number {
  if (json) io.stdout.write(`${JSON.stringify({ error: { code, message } })}\n`);
  else io.stderr.write(`error: ${code}: ${message}\n`);
  return 1;
}

/** A thrown RPC error keeps its Connect code; anything else (bad flags, unreadable files) is `error`. */
export function failWith(io: CliIo, json: boolean | undefined, error: unknown): number {
  if (error instanceof ConnectError) return fail(io, json, codeName(error.code), describe(error));
  return fail(io, json, "error", error instanceof Error ? error.message : String(error));
}

/** TLS refusals surface as internal/canceled from the HTTP/2 layer; say what they most likely are. */
function describe(error: ConnectError): string {
  if (/certificate|alert|handshake|SSL|TLS/i.test(error.rawMessage)) {
    return `${error.rawMessage} (TLS refused: check --ca, --cert and --key against the node's CA)`;
  }
  return error.rawMessage;
}
