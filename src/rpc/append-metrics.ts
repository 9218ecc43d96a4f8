/** What the RPC edge records about appends (implemented with prom-client in observability/). */
export interface AppendMetrics {
  /** Facts submitted (a batch of n counts n). */
  request(procedure: string, facts: number): void;
  /** Facts refused, by Connect code name. */
  failure(procedure: string, code: string, facts: number): void;
  /** Wall time of one RPC. */
  latency(procedure: string, seconds: number): void;
}

export const noopAppendMetrics: AppendMetrics = {
  request() {},
  failure() {},
  latency() {},
};
