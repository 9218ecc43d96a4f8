import type { StoredFact } from "../domain/fact.js";
import { backoffDelayMs } from "../domain/gate.js";
import { settleLater } from "../domain/settle-later.js";
import type { Clock } from "../ports/clock.js";
import type { ForwardBuffer } from "../ports/forward-buffer.js";
import type { Logger } from "../ports/logger.js";
import type { LoopObserver } from "../ports/loop-observer.js";
import type { PeerLink } from "../ports/peer-link.js";
import type { Timer } from "../ports/timer.js";
import type { ArtifactMirror } from "./artifact-mirror.js";
import type { PeerGate } from "./peer-gate.js";

export interface ReceiverLoopOptions {
  readonly peer: string;
  readonly category: string;
  /** Our consumer's name at the peer. */
  readonly consumer: string;
  readonly link: PeerLink;
  readonly forward: ForwardBuffer;
  readonly gate: PeerGate;
  readonly batch: number;
  readonly waitMs: number;
  readonly backoffBaseMs: number;
  readonly backoffCapMs: number;
  readonly clock: Clock;
  readonly timer: Timer;
  readonly logger: Logger;
  readonly observer: LoopObserver;
  /** Copies referenced artifacts before their facts are inserted. */
  readonly artifacts?: ArtifactMirror;
}

/**
 * Pulls one category from one peer: fetch → durable insert into the forward
 * buffer → confirm at the peer, only after the insert is durable; the next
 * fetch overlaps the insert and the confirm. Facts at or
 * below the durable high-water mark of source offsets were already stored (a
 * crash between insert and confirm) and are only confirmed again, so nothing
 * is duplicated whatever the partition length, in O(1) memory.
 */
export class ReceiverLoop {
  readonly #o: ReceiverLoopOptions;

  constructor(options: ReceiverLoopOptions) {
    this.#o = options;
  }

  /** Runs until `signal` aborts; a batch already fetched is finished first. */
  async run(signal: AbortSignal): Promise<void> {
    const o = this.#o;
    let highWaterMark: number | undefined;
    let attempt = 0;
    // Reads continue after the last fact received (FetchFacts after_offset),
    // not after the peer's cursor, so the next batch is already on its way
    // while this one is stored and confirmed: a backlog drains at the speed of
    // the slower side instead of the sum of both. Any failure starts over
    // from the durable cursor.
    let after: number | undefined;
    let next: { readonly fetched: Promise<Fetched>; readonly cancel: () => void } | undefined;
    const confirms = new Confirms(
      (offset, timeoutMs) => o.link.confirm(o.consumer, offset, AbortSignal.timeout(timeoutMs)),
      o.clock,
      o.timer,
    );
    while (!signal.aborted) {
      let stage: "local" | "peer" = "local";
      try {
        highWaterMark ??= await o.forward.highWaterMark(o.peer, o.category);
        stage = "peer";
        const { facts } = await (next?.fetched ?? this.#fetch(after, signal));
        next = undefined;
        const last = facts.at(-1);
        const behind = facts.length >= o.batch;
        if (last !== undefined) {
          after = last.offset;
          next = this.#readAhead(after, signal);
        }
        const fresh = facts.filter((f) => f.offset > (highWaterMark as number));
        if (fresh.length > 0) {
          // Artifacts first: a fact becomes visible only once its bytes are here and verified.
          if (o.artifacts !== undefined) {
            for (const fact of fresh) {
              if (fact.envelope.objectMediaType !== "") await o.artifacts.ensure(o.link, fact, signal);
            }
          }
          stage = "local";
          await o.forward.append(o.peer, o.category, fresh);
          highWaterMark = (fresh.at(-1) as StoredFact).offset;
        }
        if (last !== undefined) {
          stage = "peer";
          confirms.throwIfFailed();
          confirms.request(last.offset);
        }
        attempt = 0;
        o.gate.report(behind ? "exchange_behind" : "exchange_caught_up");
        const lag =
          behind && last !== undefined ? Math.max(0, (o.clock.nowMs() - last.storedAtUnixMs) / 1000) : 0;
        o.observer.progress(o.peer, o.category, highWaterMark, lag);
      } catch (error) {
        // A batch read ahead of a failure is dropped (and its long-poll ended at
        // the peer, where it would hold the consumer); the durable cursor decides what comes next.
        after = undefined;
        next?.cancel();
        next = undefined;
        confirms.reset();
        if (signal.aborted) break;
        // After any failure the durable state is the truth again (the insert may or may not have landed).
        highWaterMark = undefined;
        if (stage === "peer")
          o.gate.report("exchange_failed", { category: o.category, error: describe(error) });
        else
          o.logger.warn(
            { peer: o.peer, category: o.category, err: error },
            "forward buffer unavailable; retrying",
          );
        await o.timer.sleep(
          backoffDelayMs(attempt++, o.backoffBaseMs, o.backoffCapMs, o.timer.random()),
          signal,
        );
      }
    }
    // Shutting down: the last stored batch is confirmed (it is harmless if that fails).
    await confirms.flush();
  }

  #fetch(after: number | undefined, signal: AbortSignal): Promise<Fetched> {
    const o = this.#o;
    return o.link.fetch(o.consumer, o.batch, o.waitMs, signal, after);
  }

  /** The next fetch, started now; cancellable on its own without stopping the loop. */
  #readAhead(after: number, loop: AbortSignal): { fetched: Promise<Fetched>; cancel: () => void } {
    const own = new AbortController();
    const cancel = () => own.abort();
    // A listener, not AbortSignal.any: that would keep one signal per batch alive on the loop's.
    loop.addEventListener("abort", cancel, { once: true });
    const fetched = settleLater(
      this.#fetch(after, own.signal).finally(() => loop.removeEventListener("abort", cancel)),
    );
    return { fetched, cancel };
  }
}

type Fetched = Awaited<ReturnType<PeerLink["fetch"]>>;

const CONFIRM_MS = 30_000;
const FINAL_CONFIRM_MS = 5_000;
/**
 * Fewest ms between the starts of two confirms. At a steady trickle every
 * fetch brings a small batch, and a confirm per batch is an RPC (and a cursor
 * write at the peer) per round trip, on both nodes' CPU; spaced out, the
 * trickle costs at most ten a second. Nothing waits for a confirm (the next
 * batch is fetched after the last one received, not after the cursor): it
 * only lets the peer count the batch as delivered a little later.
 */
export const CONFIRM_SPACING_MS = 100;

/**
 * Confirms of stored batches, sent in the background one at a time and at
 * most one per CONFIRM_SPACING_MS: while one travels or waits its turn, newer
 * stored offsets only raise what the next one will say, so a stream of small
 * batches costs a few ConfirmReceipt RPCs a second rather than one per batch.
 * A failed confirm is reported at the next batch.
 */
class Confirms {
  readonly #send: (offset: number, timeoutMs: number) => Promise<unknown>;
  readonly #clock: Clock;
  readonly #timer: Timer;
  /** Ends a confirm's wait for its turn: at shutdown the last one goes at once. */
  readonly #hurry = new AbortController();
  #wanted = 0;
  #sent = 0;
  #lastSentAtMs: number | undefined;
  #inFlight: Promise<void> | undefined;
  #failure: { readonly error: unknown } | undefined;
  #generation = 0;

  constructor(send: (offset: number, timeoutMs: number) => Promise<unknown>, clock: Clock, timer: Timer) {
    this.#send = send;
    this.#clock = clock;
    this.#timer = timer;
  }

  /** `offset` and everything before it are durable here. */
  request(offset: number): void {
    if (offset > this.#wanted) this.#wanted = offset;
    this.#next();
  }

  throwIfFailed(): void {
    const failure = this.#failure;
    if (failure !== undefined) {
      this.#failure = undefined;
      throw failure.error;
    }
  }

  /** After a failure the peer's durable cursor is the truth again; a confirm still travelling is left to finish. */
  reset(): void {
    this.#generation++;
    this.#wanted = 0;
    this.#sent = 0;
    this.#inFlight = undefined;
    this.#failure = undefined;
  }

  /**
   * Waits for the confirm in flight and sends one for anything stored since,
   * with a short deadline (shutdown must not wait out a partition twice); never throws.
   */
  async flush(): Promise<void> {
    this.#hurry.abort();
    while (this.#inFlight !== undefined) await this.#inFlight;
    if (this.#wanted > this.#sent) await this.#send(this.#wanted, FINAL_CONFIRM_MS).catch(() => undefined);
  }

  #next(): void {
    if (this.#inFlight !== undefined || this.#wanted <= this.#sent || this.#failure !== undefined) return;
    const generation = this.#generation;
    const wait =
      this.#lastSentAtMs === undefined ? 0 : this.#lastSentAtMs + CONFIRM_SPACING_MS - this.#clock.nowMs();
    const turn = wait > 0 ? this.#timer.sleep(wait, this.#hurry.signal) : Promise.resolve();
    this.#inFlight = turn.then(() => {
      if (generation !== this.#generation) return;
      // The newest stored offset when the turn comes, not when it was asked for.
      const offset = this.#wanted;
      this.#sent = offset;
      this.#lastSentAtMs = this.#clock.nowMs();
      return this.#send(offset, CONFIRM_MS).then(
        () => {
          if (generation !== this.#generation) return;
          this.#inFlight = undefined;
          this.#next();
        },
        (error: unknown) => {
          if (generation !== this.#generation) return;
          this.#inFlight = undefined;
          this.#failure = { error };
        },
      );
    });
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
