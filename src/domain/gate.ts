/**
 * The gate of one peer (ARCHITECTURE §6): `closed` while the peer cannot be
 * reached, `reconciling` once it answers again and a backlog is draining,
 * `open` when exchanges succeed and the loop has caught up.
 */
export type GateState = "closed" | "reconciling" | "open";

export type GateEvent = "exchange_failed" | "exchange_behind" | "exchange_caught_up";

export function nextGateState(current: GateState, event: GateEvent): GateState {
  switch (event) {
    case "exchange_failed":
      return "closed";
    case "exchange_caught_up":
      return "open";
    case "exchange_behind":
      // A full batch while open is just load; after an outage it is a backlog.
      return current === "open" ? "open" : "reconciling";
  }
}

/** Exponential backoff with jitter in [50 %, 100 %] of the step, capped. */
export function backoffDelayMs(attempt: number, baseMs: number, capMs: number, random: number): number {
  const step = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(step * (0.5 + random / 2));
}
