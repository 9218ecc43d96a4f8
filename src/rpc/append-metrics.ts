/** What the RPC edge records about appends (implemented with prom-client in observability/). */
export interface AppendMetrics {
  /** One per fact submitted (a batch of n counts n). */
  request(procedure: string): void;
  /** One per fact refused, by Connect code name. */
  failure(procedure: string, code: string): void;
  /** Wall time of one RPC. */
  latency(procedure: string, seconds: number): void;
}

export const noopAppendMetrics: AppendMetrics = {
  request() {},
  failure() {},
  latency() {},
};
