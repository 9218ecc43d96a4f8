import type { ConsumerSpec } from "../../domain/consumer-policy.js";

export const forwardStreamName = (category: string): string => `forward_${category}`;

/** One subject per (category, source zone): its last message carries the import high-water mark. */
export const forwardSubject = (category: string, sourceZone: string): string =>
  `forward.${category}.${sourceZone}`;

export const CURSOR_BUCKET = "bsfg_cursors";

/** Where a consumer reads: a peer sees only facts addressed to it; a local consumer reads a forward buffer. */
export function consumerSource(consumer: ConsumerSpec): { stream: string; filter: string } {
  if (consumer.kind === "peer") {
    return {
      stream: `facts_${consumer.category}`,
      filter: `facts.${consumer.category}.${consumer.peerZone}.>`,
    };
  }
  return {
    stream: forwardStreamName(consumer.category),
    filter:
      consumer.fromZone === undefined
        ? `forward.${consumer.category}.>`
        : forwardSubject(consumer.category, consumer.fromZone),
  };
}
