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
  return undecodableBody(
    method.name,
    publicInputOf(method),
    explain(error.rawMessage.slice(PARSE_BINARY.length)),
    error,
  );
}

/**
 * The request type the caller sent: for a binary view of a method
 * (APPEND_FACTS_VIEW), the method's own input, not the internal view type.
 */
function publicInputOf(method: DescMethod): string {
  return (method.parent.methods.find((m) => m.name === method.name) ?? method).input.typeName;
}

/** A binary request body that is not the message its method takes, as the caller's error it is. */
export function undecodableBody(
  method: string,
  typeName: string,
  reason: string,
  cause?: unknown,
): DomainError {
  return new DomainError(
    "invalid_input",
    `${method}: the request body could not be decoded as ${typeName} (protobuf binary): ${reason}`,
    {},
    cause === undefined ? undefined : { cause },
  );
}

function explain(reason: string): string {
  // The TextDecoder's wording names neither the field nor the fix.
  return /utf-?8/i.test(reason) ? "a string field holds bytes that are not valid UTF-8" : reason;
}
