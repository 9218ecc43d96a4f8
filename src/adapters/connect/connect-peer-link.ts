import type { PeerCertificate } from "node:tls";
import { type Client, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { DomainError, isDomainError } from "../../domain/errors.js";
import type { StoredFact } from "../../domain/fact.js";
import type { FetchFactsResponseView } from "../../gen/bsfg/internal/v1/fetch_facts_view_pb.js";
import { BoundaryService } from "../../gen/bsfg/v1/boundary_pb.js";
import type { PeerLink } from "../../ports/peer-link.js";
import { fromStoredFactMessage } from "../../rpc/stored-fact-mapping.js";
import { readStoredRecord } from "../../rpc/stored-records-wire.js";
// The peer's stored records are this codec's JSON: peers run the same storage format.
import { decodePeerRecord } from "../jetstream/fact-codec.js";
import { FETCH_FACTS_VIEW } from "./fetch-facts-view.js";
import { createWideWindowSessionManager } from "./wide-window-session-manager.js";

export interface ConnectPeerLinkOptions {
  readonly url: string;
  /** The identity the peer's node certificate must carry (CN or URI SAN). */
  readonly identity: string;
  readonly tls: { readonly ca: Buffer; readonly cert: Buffer; readonly key: Buffer };
}

/**
 * The receiver loop's client for one peer: Connect (binary) over HTTP/2 and
 * mTLS with our node certificate, refusing a peer whose certificate does not
 * name the configured identity even if the CA signed it.
 */
export class ConnectPeerLink implements PeerLink {
  #transport: Transport;
  #client: Client<typeof BoundaryService>;
  readonly #options: ConnectPeerLinkOptions;

  constructor(options: ConnectPeerLinkOptions) {
    this.#options = options;
    this.#transport = ConnectPeerLink.#connect(options);
    this.#client = createClient(BoundaryService, this.#transport);
  }

  /**
   * New TLS material (certificate rotation): later calls open a new HTTP/2
   * connection with it; calls in flight finish on the old one.
   */
  updateTls(tls: ConnectPeerLinkOptions["tls"]): void {
    this.#transport = ConnectPeerLink.#connect({ ...this.#options, tls });
    this.#client = createClient(BoundaryService, this.#transport);
  }

  static #connect(options: ConnectPeerLinkOptions): Transport {
    return createConnectTransport({
      baseUrl: options.url,
      httpVersion: "2",
      sessionManager: createWideWindowSessionManager(
        options.url,
        {
          ...options.tls,
          minVersion: "TLSv1.3",
          checkServerIdentity: (_host: string, cert: PeerCertificate) =>
            checkPeerIdentity(cert, options.identity),
        },
        // A partition must be noticed while a long-poll is parked on a dead connection.
        { pingIntervalMs: 10_000, pingTimeoutMs: 5_000 },
      ),
    });
  }

  async fetch(consumer: string, limit: number, waitMs: number, signal: AbortSignal, afterOffset?: number) {
    try {
      const { message } = await this.#transport.unary(FETCH_FACTS_VIEW, signal, waitMs + 15_000, undefined, {
        consumerName: consumer,
        limit,
        waitMs,
        ...(afterOffset === undefined ? {} : { afterOffset: BigInt(afterOffset) }),
        storedRecords: true,
      });
      return { facts: factsOf(message), cursor: Number(message.cursor) };
    } catch (error) {
      if (isDomainError(error)) throw error;
      throw peerError(error, "fetch");
    }
  }

  async confirm(consumer: string, offset: number, signal: AbortSignal): Promise<number> {
    try {
      const res = await this.#client.confirmReceipt(
        { consumerName: consumer, offset: BigInt(offset) },
        { signal },
      );
      return Number(res.cursorAdvancedTo);
    } catch (error) {
      throw peerError(error, "confirm");
    }
  }

  async *getObject(
    bucket: string,
    key: string,
    offset: number,
    signal: AbortSignal,
  ): AsyncIterable<Uint8Array> {
    try {
      for await (const res of this.#client.getObject({ bucket, key, offset: BigInt(offset) }, { signal })) {
        if (res.part.case === "chunk") yield res.part.value;
      }
    } catch (error) {
      throw peerError(error, "get object");
    }
  }
}

/**
 * The facts of a FetchFacts answer: the stored records we asked for, or
 * `facts` from a peer that predates them (it ignores the request field).
 */
export function factsOf(res: FetchFactsResponseView): StoredFact[] {
  if (res.records.length > 0) return res.records.map(peerFact);
  return res.facts.map(fromStoredFactMessage) as StoredFact[];
}

function peerFact(bytes: Uint8Array, index: number): StoredFact {
  let record: ReturnType<typeof readStoredRecord>;
  try {
    record = readStoredRecord(bytes);
  } catch (error) {
    throw new DomainError(
      "unavailable",
      `peer record ${index} of the batch is not a StoredRecord: ${(error as Error).message}`,
    );
  }
  return decodePeerRecord(record.json, record.offset);
}

export function checkPeerIdentity(cert: PeerCertificate, identity: string): Error | undefined {
  const cn = cert.subject?.CN;
  const names = [
    Array.isArray(cn) ? cn[0] : cn,
    ...(cert.subjectaltname ?? "").split(", ").map((s) => s.replace(/^URI:/, "")),
  ];
  if (names.includes(identity)) return undefined;
  return new Error(`peer certificate names ${JSON.stringify(names.filter(Boolean))}, expected "${identity}"`);
}

function peerError(error: unknown, what: string): DomainError {
  const e = ConnectError.from(error);
  return new DomainError(
    "unavailable",
    `peer ${what} failed: [${e.code}] ${e.rawMessage}`,
    {},
    { cause: error },
  );
}
