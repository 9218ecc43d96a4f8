import type { DescMethod } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { DomainError } from "../domain/errors.js";

// connect-es decodes protobuf binary request bodies itself and reports one it
// cannot decode as `internal` with "parse binary: <reason>"
// (protocol/serialization.ts, 2.1.2 and later), although the caller sent it.
const PARSE_BINARY = "parse binary: ";

/**
 * A request body connect-es could not decode, as the caller's error it is
 * (`invalid_input`, which the error mapping answers `invalid_argument`);
 * undefined for any other error.
 */
export function decodeFailureOf(method: DescMethod, error: unknown): DomainError | undefined {
  if (!(error instanceof ConnectError) || error.code !== Code.Internal) return undefined;
  if (!error.rawMessage.startsWith(PARSE_BINARY)) return undefined;
  const reason = error.rawMessage.slice(PARSE_BINARY.length);
  return new DomainError(
    "invalid_input",
    `${method.name}: the request body could not be decoded as ${method.input.typeName} (protobuf binary): ${explain(reason)}`,
    {},
    { cause: error },
  );
}

function explain(reason: string): string {
  // The TextDecoder's wording names neither the field nor the fix.
  return /utf-?8/i.test(reason) ? "a string field holds bytes that are not valid UTF-8" : reason;
}
