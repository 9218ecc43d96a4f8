/** Idempotency and admission events the use case reports (metrics live behind this port). */
export interface AppendObserver {
  duplicate(category: string): void;
  conflict(category: string): void;
  /** Facts of appends waiting for room under limits.max_facts_in_flight, after each change. */
  queued(facts: number): void;
}

export const noopAppendObserver: AppendObserver = {
  duplicate() {},
  conflict() {},
  queued() {},
};
