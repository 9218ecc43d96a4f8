import type { JetStreamManager } from "@nats-io/jetstream";

export interface JetStreamView {
  readonly streams: number;
  readonly consumers: number;
  readonly storeBytes: number;
  readonly ackPending: number;
}

/** The account-level JetStream numbers of the seed's metric list, from the server itself. */
export async function sampleJetStreamView(
  jsm: JetStreamManager,
  streams: readonly string[],
): Promise<JetStreamView> {
  const account = await jsm.getAccountInfo();
  let ackPending = 0;
  for (const stream of streams) {
    for await (const consumer of jsm.consumers.list(stream)) ackPending += consumer.num_ack_pending;
  }
  return {
    streams: account.streams,
    consumers: account.consumers,
    storeBytes: account.storage + account.memory,
    ackPending,
  };
}
