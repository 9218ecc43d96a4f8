import { ConnectPeerLink } from "../adapters/connect/connect-peer-link.js";
import { nodeTimer } from "../adapters/node/node-timer.js";
import { systemClock } from "../adapters/node/system-clock.js";
import type { Config } from "../config/schema.js";
import { peerConsumerName } from "../domain/consumer-policy.js";
import type { ForwardBuffer } from "../ports/forward-buffer.js";
import type { Logger } from "../ports/logger.js";
import type { LoopObserver } from "../ports/loop-observer.js";
import type { TlsMaterial } from "../server/tls-files.js";
import type { ArtifactMirror } from "../use-cases/artifact-mirror.js";
import { PeerGate } from "../use-cases/peer-gate.js";
import { ReceiverLoop } from "../use-cases/receiver-loop.js";

export interface ReceiverLoops {
  readonly loops: readonly ReceiverLoop[];
  /** One link per peer, so certificate rotation can reach every outbound connection. */
  readonly links: readonly ConnectPeerLink[];
}

/** One receiver loop per (peer, imported category), sharing one gate and one mTLS link per peer. */
export function createReceiverLoops(
  config: Config,
  deps: {
    readonly tls: TlsMaterial;
    readonly forward: ForwardBuffer;
    readonly mirror: ArtifactMirror;
    readonly observer: LoopObserver;
    readonly logger: Logger;
  },
): ReceiverLoops {
  const links: ConnectPeerLink[] = [];
  const loops = Object.entries(config.peers)
    .filter(([, peer]) => peer.import.length > 0 && peer.url !== undefined)
    .flatMap(([zone, peer]) => {
      const gate = new PeerGate(zone, deps.logger, deps.observer);
      const link = new ConnectPeerLink({ url: peer.url as string, identity: peer.identity, tls: deps.tls });
      links.push(link);
      return peer.import.map(
        (category) =>
          new ReceiverLoop({
            peer: zone,
            category,
            consumer: peerConsumerName(config.zone, category),
            link,
            forward: deps.forward,
            gate,
            batch: config.receiver.batch,
            waitMs: config.receiver.wait,
            backoffBaseMs: config.receiver.backoff_base,
            backoffCapMs: config.receiver.backoff_max,
            clock: systemClock,
            timer: nodeTimer,
            logger: deps.logger,
            observer: deps.observer,
            artifacts: deps.mirror,
          }),
      );
    });
  return { loops, links };
}
