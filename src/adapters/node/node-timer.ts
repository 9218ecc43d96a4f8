import { setTimeout as sleep } from "node:timers/promises";
import type { Timer } from "../../ports/timer.js";

export const nodeTimer: Timer = {
  async sleep(ms, signal) {
    await sleep(ms, undefined, { signal }).catch(() => undefined);
  },
  random: () => Math.random(),
};
