import { randomUUID } from "node:crypto";
import { fail, failWith } from "./cli-failure.js";
import type { CliIo } from "./cli-io.js";
import { type ClientFlags, resolveClient } from "./client-options.js";

export interface AppendFlags extends ClientFlags {
  /** Defaults to the dev.json zone (`--zone`) when the endpoint comes from dev.json. */
  readonly fromZone?: string;
  readonly toZone: string;
  readonly subject: string;
  readonly predicate: string;
  readonly object: string;
  readonly messageId?: string;
  readonly category?: string;
  readonly correlationId?: string;
  /** Set for a fact whose object_json references an artifact. */
  readonly objectMediaType?: string;
  readonly label?: readonly string[];
  readonly json?: boolean;
}

/** `bsfg append`: one fact from a shell; prints the offset (or JSON) and exits non-zero on refusal. */
export async function appendCommand(io: CliIo, flags: AppendFlags): Promise<number> {
  const messageId = flags.messageId ?? randomUUID();
  const labels: Record<string, string> = {};
  for (const l of flags.label ?? []) {
    const eq = l.indexOf("=");
    if (eq <= 0) return fail(io, flags.json, "invalid_argument", `--label ${l}: expected key=value`);
    labels[l.slice(0, eq)] = l.slice(eq + 1);
  }
  try {
    const { client, devZone } = resolveClient(flags, io.env);
    const fromZone = flags.fromZone ?? devZone?.zone;
    if (fromZone === undefined)
      return fail(io, flags.json, "invalid_argument", "--from-zone is required (or use --dev with --zone)");
    const res = await client.appendFact(
      {
        envelope: {
          messageId,
          fromZone,
          toZone: flags.toZone,
          producedAtUnixMs: BigInt(Date.now()),
          correlationId: flags.correlationId ?? "",
          objectMediaType: flags.objectMediaType ?? "",
          labels,
        },
        fact: { subject: flags.subject, predicate: flags.predicate, objectJson: flags.object },
        category: flags.category ?? "",
      },
      { timeoutMs: 30_000 },
    );
    if (flags.json) {
      io.stdout.write(
        `${JSON.stringify({ message_id: messageId, offset: res.offset.toString(), category: res.category, duplicate: res.duplicate })}\n`,
      );
    } else {
      io.stdout.write(
        `${res.duplicate ? "duplicate of" : "appended"} ${res.category} offset ${res.offset} (message_id ${messageId})\n`,
      );
    }
    return 0;
  } catch (error) {
    return failWith(io, flags.json, error);
  }
}
