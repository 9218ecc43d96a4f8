import { failWith } from "./cli-failure.js";
import type { CliIo } from "./cli-io.js";
import { type ClientFlags, resolveClient } from "./client-options.js";
import { devConsumerName } from "./dev-json.js";

export interface ConfirmFlags extends ClientFlags {
  /** A consumer name, or with dev.json a category. */
  readonly consumer: string;
  readonly offset: bigint;
  readonly json?: boolean;
}

/** `bsfg confirm`: moves the consumer's cursor to `--offset` (never backwards) and prints where it is. */
export async function confirmCommand(io: CliIo, flags: ConfirmFlags): Promise<number> {
  try {
    const { client, devZone } = resolveClient(flags, io.env);
    const consumerName = devConsumerName(flags.consumer, devZone);
    const res = await client.confirmReceipt({ consumerName, offset: flags.offset }, { timeoutMs: 30_000 });
    if (flags.json) {
      io.stdout.write(
        `${JSON.stringify({ consumer: consumerName, cursor: res.cursorAdvancedTo.toString() })}\n`,
      );
    } else {
      io.stdout.write(`${consumerName}: cursor ${res.cursorAdvancedTo}\n`);
    }
    return 0;
  } catch (error) {
    return failWith(io, flags.json, error);
  }
}
