import { readFileSync } from "node:fs";
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream";
import {
  type ConnectionOptions,
  connect,
  credsAuthenticator,
  type NatsConnection,
  nkeyAuthenticator,
} from "@nats-io/transport-node";
import type { Logger } from "../../ports/logger.js";
import { PipelinedPublisher } from "./pipelined-publisher.js";

/** How the node reaches its own zone's NATS; secrets are file paths, read here and never logged. */
export interface ZoneNatsOptions {
  readonly servers: readonly string[];
  readonly name: string;
  readonly user?: string;
  readonly passwordFile?: string;
  readonly tokenFile?: string;
  readonly nkeySeedFile?: string;
  readonly credsFile?: string;
  readonly tls?: {
    readonly ca?: string | undefined;
    readonly cert?: string | undefined;
    readonly key?: string | undefined;
  };
  readonly requestTimeoutMs: number;
}

export function natsConnectionOptions(o: ZoneNatsOptions): ConnectionOptions {
  const options: ConnectionOptions = {
    servers: [...o.servers],
    name: o.name,
    timeout: o.requestTimeoutMs,
    // The node must outlive any NATS outage: retry forever, from the first connect on.
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    reconnectJitter: 250,
    pingInterval: 10_000,
    maxPingOut: 3,
    // Async stack traces cost an Error per request on the append hot path (profiled).
    noAsyncTraces: true,
  };
  if (o.user !== undefined) options.user = o.user;
  if (o.passwordFile !== undefined) options.pass = readSecret(o.passwordFile);
  if (o.tokenFile !== undefined) options.token = readSecret(o.tokenFile);
  if (o.nkeySeedFile !== undefined) {
    options.authenticator = nkeyAuthenticator(new TextEncoder().encode(readSecret(o.nkeySeedFile)));
  }
  if (o.credsFile !== undefined) options.authenticator = credsAuthenticator(readFileSync(o.credsFile));
  if (o.tls !== undefined) {
    options.tls = {
      ...(o.tls.ca !== undefined && { caFile: o.tls.ca }),
      ...(o.tls.cert !== undefined && { certFile: o.tls.cert }),
      ...(o.tls.key !== undefined && { keyFile: o.tls.key }),
    };
  }
  return options;
}

function readSecret(path: string): string {
  return readFileSync(path, "utf8").trim();
}

export interface ZoneNatsHandlers {
  /** Called after the first connect and after every reconnect (re-provision, resample). */
  readonly onConnected: () => Promise<void>;
}

/**
 * The node's connection to its zone's NATS. Tracks whether it is connected so
 * callers can fail fast while NATS is down (nats.js would otherwise buffer
 * publishes until their timeout).
 */
export class ZoneNats {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  /** Fact writes (store and forward buffers): acknowledgements collected on one inbox. */
  readonly publisher: PipelinedPublisher;
  #connected = true;

  private constructor(nc: NatsConnection, jsm: JetStreamManager, timeoutMs: number) {
    this.nc = nc;
    this.jsm = jsm;
    this.js = jetstream(nc, { timeout: timeoutMs });
    this.publisher = new PipelinedPublisher(nc);
  }

  /**
   * Connects, retrying every `retryMs` until it succeeds or `cancelled()` says
   * stop (nats.js's waitOnFirstConnect cannot be cancelled, which would keep a
   * stopped node alive). Returns undefined when cancelled.
   */
  static async connect(
    options: ZoneNatsOptions,
    logger: Logger,
    handlers: ZoneNatsHandlers,
    cancelled: () => boolean,
    retryMs = 1000,
  ): Promise<ZoneNats | undefined> {
    let nc: NatsConnection | undefined;
    let attempt = 0;
    while (nc === undefined) {
      if (cancelled()) return undefined;
      try {
        nc = await connect(natsConnectionOptions(options));
      } catch (error) {
        if (attempt++ % 10 === 0) {
          logger.warn({ servers: options.servers, err: error }, "zone NATS unreachable; retrying");
        }
        await new Promise((resolve) => setTimeout(resolve, retryMs));
      }
    }
    if (cancelled()) {
      await nc.close();
      return undefined;
    }
    const jsm = await jetstreamManager(nc, { timeout: options.requestTimeoutMs, checkAPI: false });
    const zone = new ZoneNats(nc, jsm, options.requestTimeoutMs);
    logger.info({ server: nc.getServer() }, "connected to NATS");
    void zone.#watch(logger, handlers);
    await handlers.onConnected();
    return zone;
  }

  isConnected(): boolean {
    return this.#connected && !this.nc.isClosed() && !this.nc.isDraining();
  }

  /** Flushes and closes; when NATS is down, drain cannot finish, so the connection is closed outright. */
  async drain(): Promise<void> {
    if (this.nc.isClosed()) return;
    try {
      await this.nc.drain();
    } catch {
      await this.nc.close();
    }
  }

  async #watch(logger: Logger, handlers: ZoneNatsHandlers): Promise<void> {
    for await (const status of this.nc.status()) {
      switch (status.type) {
        case "disconnect":
          this.#connected = false;
          logger.warn({ server: status.server }, "disconnected from NATS");
          break;
        case "reconnect":
          logger.info({ server: status.server }, "reconnected to NATS");
          try {
            await handlers.onConnected();
            this.#connected = true;
          } catch (error) {
            logger.error({ err: error }, "re-provisioning after reconnect failed");
            this.#connected = true;
          }
          break;
        default:
          break;
      }
    }
  }
}
