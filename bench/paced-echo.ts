/**
 * The RPC framework's cost at the latency load: the bare connect-node echo
 * (bench/echo-server.ts) fed the same paced appends as the end-to-end latency
 * phase — `rate` facts per second in AppendFacts of `batch`, or unary — with
 * the same load generator. At a steady low rate every call pays the
 * per-call costs a saturating load spreads over many (wake-ups, cold caches,
 * timers), so the CPU per fact here, not at saturation, is what one RPC hop
 * of the gateway's chain costs at 1,000 facts/s on this machine.
 */

import { clientFor } from "../test/fixtures/test-node.js";
import { createTestPki } from "../test/fixtures/test-pki.js";
import {
  type GatewayOptions,
  LATENCY_WARMUP_SECONDS,
  type Paced,
  pacedAppends,
  type Rss,
} from "./gateway.js";
import { RssSampler, stopChild } from "./load.js";
import { startEcho } from "./start-echo.js";

export interface PacedEcho extends Paced {
  readonly batch: number;
  readonly rss: Rss;
}

export async function measurePacedEcho(
  o: Pick<GatewayOptions, "rate" | "latencySeconds">,
  batches: readonly number[],
): Promise<PacedEcho[]> {
  const pki = await createTestPki();
  const echo = await startEcho(pki.ca, pki.node.cert, pki.node.key);
  try {
    const producers = Array.from({ length: 4 }, () => clientFor(echo.url, pki.ca, pki.clients.erp));
    const pids = { "echo server": () => echo.child.pid, "load generator": () => process.pid };
    const out: PacedEcho[] = [];
    for (const batch of batches) {
      await pacedAppends(
        producers,
        { rate: o.rate, latencySeconds: LATENCY_WARMUP_SECONDS },
        batch,
        `pw${batch}`,
      );
      const sampler = new RssSampler(pids);
      const paced = await pacedAppends(producers, o, batch, `p${batch}`);
      out.push({ ...paced, batch, rss: sampler.stop() });
    }
    return out;
  } finally {
    await stopChild(echo.child);
  }
}
