import type { ConsumerSpec } from "../domain/consumer-policy.js";
import type { GateState } from "../domain/gate.js";
import type { LoopObserver } from "../ports/loop-observer.js";

export interface ConsumerStatus {
  readonly name: string;
  readonly kind: "peer" | "local";
  readonly category: string;
  readonly peer?: string;
  cursor: number;
  backlogFacts: number;
  oldestAgeSeconds: number;
  sampledAtUnixMs: number;
  retentionHeadroomSeconds: number | null;
  retentionAlarm: boolean;
  stalled: boolean;
  /** Backlog size estimated from the buffer's average fact size (null when unknown). */
  backlogBytesEstimate: number | null;
}

export interface ImportStatus {
  readonly peer: string;
  readonly category: string;
  highWaterMark: number;
  lagSeconds: number;
  lastProgressUnixMs: number;
}

/** The latest numbers for `/status` and `bsfg status`, fed by the same observers as the metrics. */
export class StatusBoard implements LoopObserver {
  readonly gates = new Map<string, { state: GateState; sinceUnixMs: number }>();
  readonly imports = new Map<string, ImportStatus>();
  readonly consumers = new Map<string, ConsumerStatus>();

  constructor(
    specs: ReadonlyMap<string, ConsumerSpec>,
    private readonly now: () => number,
  ) {
    for (const spec of specs.values()) {
      this.consumers.set(spec.name, {
        name: spec.name,
        kind: spec.kind,
        category: spec.category,
        ...(spec.kind === "peer" && { peer: spec.peerZone }),
        cursor: 0,
        backlogFacts: 0,
        oldestAgeSeconds: 0,
        sampledAtUnixMs: 0,
        retentionHeadroomSeconds: null,
        retentionAlarm: false,
        stalled: false,
        backlogBytesEstimate: null,
      });
    }
  }

  gate(peer: string, state: GateState): void {
    this.gates.set(peer, { state, sinceUnixMs: this.now() });
  }

  progress(peer: string, category: string, highWaterMark: number, lagSeconds: number): void {
    this.imports.set(`${peer}/${category}`, {
      peer,
      category,
      highWaterMark,
      lagSeconds,
      lastProgressUnixMs: this.now(),
    });
  }

  backlog(
    consumer: string,
    cursor: number,
    facts: number,
    oldestAgeSeconds: number,
    averageFactBytes?: number,
  ): void {
    const c = this.consumers.get(consumer);
    if (c === undefined) return;
    c.cursor = cursor;
    c.backlogFacts = facts;
    c.backlogBytesEstimate = averageFactBytes === undefined ? null : Math.round(facts * averageFactBytes);
    c.oldestAgeSeconds = oldestAgeSeconds;
    c.sampledAtUnixMs = this.now();
  }

  health(consumer: string, headroomSeconds: number, retentionAlarm: boolean, stalled: boolean): void {
    const c = this.consumers.get(consumer);
    if (c === undefined) return;
    c.retentionHeadroomSeconds = Number.isFinite(headroomSeconds) ? Math.round(headroomSeconds) : null;
    c.retentionAlarm = retentionAlarm;
    c.stalled = stalled;
  }

  confirmed(consumer: string, cursor: number): void {
    const c = this.consumers.get(consumer);
    if (c !== undefined && cursor > c.cursor) c.cursor = cursor;
  }

  toJson(): object {
    return {
      gates: Object.fromEntries(
        [...this.gates].map(([peer, g]) => [peer, { state: g.state, since_unix_ms: g.sinceUnixMs }]),
      ),
      imports: [...this.imports.values()].map((i) => ({
        peer: i.peer,
        category: i.category,
        high_water_mark: i.highWaterMark,
        lag_seconds: i.lagSeconds,
        last_progress_unix_ms: i.lastProgressUnixMs,
      })),
      consumers: [...this.consumers.values()].map((c) => ({
        name: c.name,
        kind: c.kind,
        category: c.category,
        ...(c.peer !== undefined && { peer: c.peer }),
        cursor: c.cursor,
        backlog_facts: c.backlogFacts,
        backlog_bytes_estimate: c.backlogBytesEstimate,
        backlog_oldest_age_seconds: c.oldestAgeSeconds,
        retention_headroom_seconds: c.retentionHeadroomSeconds,
        retention_alarm: c.retentionAlarm,
        stalled: c.stalled,
        sampled_at_unix_ms: c.sampledAtUnixMs,
      })),
    };
  }
}
