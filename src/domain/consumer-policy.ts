import { DomainError } from "./errors.js";

/**
 * A named consumer: governed infrastructure from config. `peer` consumers read
 * our store buffer for one peer zone (only facts addressed to it); `local`
 * consumers read a forward buffer (facts imported from peers).
 */
export type ConsumerSpec =
  | {
      readonly kind: "peer";
      readonly name: string;
      readonly category: string;
      readonly peerZone: string;
      /** The certificate identity the peer's node must present. */
      readonly peerIdentity: string;
    }
  | {
      readonly kind: "local";
      readonly name: string;
      readonly category: string;
      readonly principals: ReadonlySet<string>;
      /** Only facts from this source zone, when set. */
      readonly fromZone?: string;
    };

/** The name a zone's node uses at its peer to pull one category: `peer.<my zone>.<category>`. */
export function peerConsumerName(receivingZone: string, category: string): string {
  return `peer.${receivingZone}.${category}`;
}

/**
 * Finds a consumer and checks the caller may use it: unknown → not_found,
 * wrong principal or a peer identity that is not the configured one for its
 * zone → permission_denied.
 */
export function authorizeConsumer(
  consumers: ReadonlyMap<string, ConsumerSpec>,
  name: string,
  principal: string,
): ConsumerSpec {
  if (name === "")
    throw new DomainError("invalid_input", "consumer_name: is required", { field: "consumer_name" });
  const spec = consumers.get(name);
  if (spec === undefined) {
    throw new DomainError("not_found", `consumer_name: no consumer named "${name}"`, {
      field: "consumer_name",
    });
  }
  if (spec.kind === "peer" && spec.peerIdentity !== principal) {
    throw new DomainError(
      "permission_denied",
      `consumer "${name}" belongs to zone "${spec.peerZone}", whose node is "${spec.peerIdentity}"; "${principal}" may not use it`,
      { field: "consumer_name" },
    );
  }
  if (spec.kind === "local" && !spec.principals.has(principal) && !spec.principals.has("*")) {
    throw new DomainError("permission_denied", `principal "${principal}" may not use consumer "${name}"`, {
      field: "consumer_name",
    });
  }
  return spec;
}
