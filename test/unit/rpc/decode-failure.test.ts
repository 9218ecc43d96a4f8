import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { BoundaryService } from "../../../src/gen/bsfg/v1/boundary_pb.js";
import { decodeFailureOf } from "../../../src/rpc/decode-failure.js";
import { toConnectError } from "../../../src/rpc/error-mapping.js";

const appendFact = BoundaryService.method.appendFact;

describe("decode failures", () => {
  it("turns connect-es's `internal` parse error into invalid input naming the RPC, the type and the reason", () => {
    const failure = decodeFailureOf(
      appendFact,
      new ConnectError("parse binary: premature EOF", Code.Internal),
    );
    expect(failure?.kind).toBe("invalid_input");
    const error = toConnectError(failure);
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.rawMessage).toBe(
      "AppendFact: the request body could not be decoded as bsfg.v1.AppendFactRequest (protobuf binary): premature EOF",
    );
  });

  it("says which rule invalid UTF-8 breaks", () => {
    const failure = decodeFailureOf(
      appendFact,
      new ConnectError("parse binary: The encoded data was not valid for encoding utf-8", Code.Internal),
    );
    expect(failure?.message).toMatch(/a string field holds bytes that are not valid UTF-8$/);
  });

  it("leaves every other error alone", () => {
    expect(decodeFailureOf(appendFact, new ConnectError("internal error", Code.Internal))).toBeUndefined();
    expect(
      decodeFailureOf(appendFact, new ConnectError("parse binary: x", Code.ResourceExhausted)),
    ).toBeUndefined();
    expect(decodeFailureOf(appendFact, new Error("parse binary: x"))).toBeUndefined();
  });
});
