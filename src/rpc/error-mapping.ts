import { Code, ConnectError } from "@connectrpc/connect";
import { type DomainErrorKind, isDomainError } from "../domain/errors.js";

/** The one table from domain failure kinds to Connect codes (ARCHITECTURE §3 error model). */
export const CODE_BY_KIND = {
  invalid_input: Code.InvalidArgument,
  already_exists: Code.AlreadyExists,
  not_found: Code.NotFound,
  precondition_failed: Code.FailedPrecondition,
  permission_denied: Code.PermissionDenied,
  back_pressure: Code.ResourceExhausted,
  too_large: Code.ResourceExhausted,
  unavailable: Code.Unavailable,
  shutting_down: Code.Unavailable,
  cancelled: Code.Canceled,
  internal: Code.Internal,
} as const satisfies Record<DomainErrorKind, Code>;

/** Connect code names as they appear on the wire (`already_exists`), for batch item errors and logs. */
export function codeName(code: Code): string {
  return Code[code].replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
}

/**
 * Any error a handler throws, as the ConnectError the client sees. Domain
 * errors keep their message (written for people); anything else becomes a
 * generic `internal` with the original kept as `cause` for the logs only.
 */
export function toConnectError(error: unknown): ConnectError {
  if (error instanceof ConnectError) return error;
  if (isDomainError(error)) {
    const metadata = new Headers();
    if (error.details.field !== undefined) metadata.set("bsfg-field", error.details.field);
    if (error.details.existingOffset !== undefined) {
      metadata.set("bsfg-existing-offset", String(error.details.existingOffset));
    }
    if (error.details.existingCategory !== undefined) {
      metadata.set("bsfg-existing-category", error.details.existingCategory);
    }
    return new ConnectError(error.message, CODE_BY_KIND[error.kind], metadata, undefined, error);
  }
  return new ConnectError("internal error", Code.Internal, undefined, undefined, error);
}
