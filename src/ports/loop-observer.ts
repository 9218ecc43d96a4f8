import type { GateState } from "../domain/gate.js";

/** What receiver loops report (metrics behind this port). */
export interface LoopObserver {
  gate(peer: string, state: GateState): void;
  /** After a batch became durable locally: the new high-water mark and the replication lag. */
  progress(peer: string, category: string, highWaterMark: number, lagSeconds: number): void;
}

export const noopLoopObserver: LoopObserver = { gate() {}, progress() {} };
