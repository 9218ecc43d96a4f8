/**
 * The closed set of failure kinds the core can report. Adapters translate
 * foreign errors into these; the RPC edge maps each kind to one Connect code
 * (see rpc/error-mapping.ts), so adding a kind fails the build until mapped.
 */
export type DomainErrorKind =
  | "invalid_input"
  | "already_exists"
  | "not_found"
  | "precondition_failed"
  | "permission_denied"
  | "back_pressure"
  | "too_large"
  | "unavailable"
  | "shutting_down"
  /** The caller went away (cancelled, or its deadline passed) before the work began. */
  | "cancelled"
  | "internal";

export interface DomainErrorDetails {
  /** The request field the error is about, as a dotted proto path (`envelope.message_id`). */
  readonly field?: string;
  /** For already_exists: where the existing fact lives. */
  readonly existingOffset?: number;
  readonly existingCategory?: string;
}

export class DomainError extends Error {
  override readonly name = "DomainError";
  readonly kind: DomainErrorKind;
  readonly details: DomainErrorDetails;

  constructor(
    kind: DomainErrorKind,
    message: string,
    details: DomainErrorDetails = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.kind = kind;
    this.details = details;
  }
}

export function isDomainError(value: unknown): value is DomainError {
  return value instanceof DomainError;
}

/** A field-level validation failure; the message names the field first so a person can act on it. */
export function invalidField(field: string, reason: string): DomainError {
  return new DomainError("invalid_input", `${field}: ${reason}`, { field });
}
