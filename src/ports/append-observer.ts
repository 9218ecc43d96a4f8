/** Idempotency events the use case reports (metrics live behind this port). */
export interface AppendObserver {
  duplicate(category: string): void;
  conflict(category: string): void;
}

export const noopAppendObserver: AppendObserver = {
  duplicate() {},
  conflict() {},
};
