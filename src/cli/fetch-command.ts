import { toJson } from "@bufbuild/protobuf";
import { StoredFactSchema } from "../gen/bsfg/v1/boundary_pb.js";
import { failWith } from "./cli-failure.js";
import type { CliIo } from "./cli-io.js";
import { type ClientFlags, resolveClient } from "./client-options.js";
import { devConsumerName } from "./dev-json.js";

export interface FetchFlags extends ClientFlags {
  /** A consumer name, or with dev.json a category. */
  readonly consumer: string;
  /** 0: the node's default. */
  readonly limit?: number;
  readonly waitMs?: number;
  readonly json?: boolean;
}

/**
 * `bsfg fetch`: the facts after the consumer's cursor, without confirming
 * them (the same facts come back until `bsfg confirm`).
 */
export async function fetchCommand(io: CliIo, flags: FetchFlags): Promise<number> {
  try {
    const { client, devZone } = resolveClient(flags, io.env);
    const consumerName = devConsumerName(flags.consumer, devZone);
    const waitMs = flags.waitMs ?? 0;
    const res = await client.fetchFacts(
      { consumerName, limit: flags.limit ?? 0, waitMs },
      { timeoutMs: waitMs + 30_000 },
    );
    if (flags.json) {
      const facts = res.facts.map((f) => toJson(StoredFactSchema, f, { useProtoFieldName: true }));
      io.stdout.write(`${JSON.stringify({ cursor: res.cursor.toString(), facts })}\n`);
      return 0;
    }
    for (const f of res.facts) {
      const e = f.envelope;
      io.stdout.write(
        `${[f.offset, f.category, e?.messageId, `${e?.fromZone}→${e?.toZone}`, f.fact?.subject, f.fact?.predicate, f.fact?.objectJson].join("  ")}\n`,
      );
    }
    const count = `${res.facts.length} fact${res.facts.length === 1 ? "" : "s"}`;
    io.stdout.write(`${consumerName}: cursor ${res.cursor}, ${count}\n`);
    return 0;
  } catch (error) {
    return failWith(io, flags.json, error);
  }
}
