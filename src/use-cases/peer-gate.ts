import { type GateEvent, type GateState, nextGateState } from "../domain/gate.js";
import type { Logger } from "../ports/logger.js";
import type { LoopObserver } from "../ports/loop-observer.js";

/** The gate of one peer, shared by that peer's receiver loops; logs every transition. */
export class PeerGate {
  #state: GateState = "closed";
  /** The last failure reason logged, so a changed reason is logged once even while closed. */
  #lastFailure: string | undefined;
  readonly #peer: string;
  readonly #logger: Logger;
  readonly #observer: LoopObserver;

  constructor(peer: string, logger: Logger, observer: LoopObserver) {
    this.#peer = peer;
    this.#logger = logger;
    this.#observer = observer;
    observer.gate(peer, this.#state);
  }

  get state(): GateState {
    return this.#state;
  }

  report(event: GateEvent, detail: Record<string, unknown> = {}): void {
    const next = nextGateState(this.#state, event);
    const failure = event === "exchange_failed" ? String(detail.error ?? "") : undefined;
    if (next === this.#state) {
      // The gate starts closed: without this a peer that never answered (a
      // wrong certificate from the first dial) would leave no line saying why.
      // Repeats of the same reason stay quiet.
      if (failure !== undefined && failure !== this.#lastFailure) {
        this.#lastFailure = failure;
        this.#logger.warn({ peer: this.#peer, state: next, ...detail }, "peer exchange failing");
      }
      return;
    }
    this.#lastFailure = failure;
    const from = this.#state;
    this.#state = next;
    const log =
      next === "closed" ? this.#logger.warn.bind(this.#logger) : this.#logger.info.bind(this.#logger);
    log({ peer: this.#peer, from, to: next, ...detail }, "gate transition");
    this.#observer.gate(this.#peer, next);
  }
}
