import { JetStreamApiError } from "@nats-io/jetstream";
import { errors as coreErrors, RequestError } from "@nats-io/transport-node";
import { DomainError } from "../../domain/errors.js";

/** JetStream API error codes this adapter reacts to (nats-server errors.json). */
export const JsCode = {
  WrongLastSequence: 10071,
  WrongLastMsgId: 10070,
  NoMessageFound: 10037,
  StreamNotFound: 10059,
  MessageExceedsMaximum: 10054,
  StoreFailed: 10077,
  InsufficientResources: 10023,
  ClusterNotAvailable: 10008,
} as const;

export function jsApiCode(error: unknown): number | undefined {
  return error instanceof JetStreamApiError ? error.code : undefined;
}

/**
 * Translates anything nats.js throws into a DomainError, keeping the original
 * as `cause` for the logs. Clients only ever see our message.
 */
export function toDomainError(error: unknown, what: string): DomainError {
  if (error instanceof DomainError) return error;
  const cause = { cause: error };
  if (error instanceof JetStreamApiError) {
    const description = error.apiError().description ?? error.message;
    switch (error.code) {
      // 10077 wraps every store refusal; only its text tells space from size.
      case JsCode.StoreFailed:
        if (/maximum (bytes|messages)/i.test(description)) {
          return new DomainError(
            "back_pressure",
            `${what}: the store buffer is full (${description}); retry later`,
            {},
            cause,
          );
        }
        if (/too large/i.test(description))
          return new DomainError("too_large", `${what}: ${description}`, {}, cause);
        return new DomainError(
          "unavailable",
          `${what}: JetStream could not store the message (${description})`,
          {},
          cause,
        );
      case JsCode.MessageExceedsMaximum:
        return new DomainError(
          "too_large",
          `${what}: the message exceeds the stream's maximum size`,
          {},
          cause,
        );
      case JsCode.InsufficientResources:
        return new DomainError(
          "back_pressure",
          `${what}: JetStream has insufficient resources; retry later`,
          {},
          cause,
        );
      // Our own stream missing means NATS lost its state or is still recovering:
      // the node re-provisions on reconnect, so the caller should retry.
      case JsCode.StreamNotFound:
      case JsCode.ClusterNotAvailable:
        return new DomainError("unavailable", `${what}: JetStream is not ready (${description})`, {}, cause);
      default:
        return new DomainError("internal", `${what}: unexpected JetStream error ${error.code}`, {}, cause);
    }
  }
  // publish() turns "no responders" into JetStreamNotEnabled, which the package does not export.
  if (error instanceof Error && error.name === "JetStreamNotEnabled") {
    return new DomainError("unavailable", `${what}: JetStream is not answering`, {}, cause);
  }
  if (
    error instanceof coreErrors.TimeoutError ||
    error instanceof coreErrors.ClosedConnectionError ||
    error instanceof coreErrors.DrainingConnectionError ||
    error instanceof coreErrors.ConnectionError ||
    error instanceof coreErrors.NoRespondersError ||
    error instanceof RequestError
  ) {
    return new DomainError("unavailable", `${what}: the zone's NATS is unreachable`, {}, cause);
  }
  if (error instanceof Error && /MAX_PAYLOAD/i.test(error.message)) {
    return new DomainError("too_large", `${what}: the message exceeds NATS max_payload`, {}, cause);
  }
  return new DomainError("internal", `${what}: unexpected error`, {}, cause);
}
