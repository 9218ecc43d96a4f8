import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { DomainError, type DomainErrorKind } from "../../../src/domain/errors.js";
import { CODE_BY_KIND, codeName, toConnectError } from "../../../src/rpc/error-mapping.js";

describe("error mapping", () => {
  it("maps each domain kind to the contract's Connect code", () => {
    const expected: Record<DomainErrorKind, Code> = {
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
    };
    expect(CODE_BY_KIND).toEqual(expected);
  });

  it("keeps the domain message and puts machine-readable details in metadata", () => {
    const error = toConnectError(
      new DomainError("already_exists", "envelope.message_id: taken", {
        field: "envelope.message_id",
        existingOffset: 7,
        existingCategory: "audit",
      }),
    );
    expect(error.code).toBe(Code.AlreadyExists);
    expect(error.rawMessage).toBe("envelope.message_id: taken");
    expect(error.metadata.get("bsfg-field")).toBe("envelope.message_id");
    expect(error.metadata.get("bsfg-existing-offset")).toBe("7");
    expect(error.metadata.get("bsfg-existing-category")).toBe("audit");
  });

  it("hides unexpected errors behind a generic internal, keeping the cause for logs", () => {
    const cause = new TypeError("secret internals at /srv/x.ts:12");
    const error = toConnectError(cause);
    expect(error.code).toBe(Code.Internal);
    expect(error.rawMessage).toBe("internal error");
    expect(error.cause).toBe(cause);
  });

  it("passes ConnectErrors through and names codes as on the wire", () => {
    const original = new ConnectError("x", Code.DeadlineExceeded);
    expect(toConnectError(original)).toBe(original);
    expect(codeName(Code.AlreadyExists)).toBe("already_exists");
    expect(codeName(Code.ResourceExhausted)).toBe("resource_exhausted");
    expect(codeName(Code.InvalidArgument)).toBe("invalid_argument");
  });
});
