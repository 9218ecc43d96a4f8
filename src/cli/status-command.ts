import { fail, failWith } from "./cli-failure.js";
import type { CliIo } from "./cli-io.js";
import { type DevFlags, resolveDevZone } from "./dev-json.js";
import { formatStatus } from "./status-report.js";

export interface StatusFlags extends DevFlags {
  readonly admin?: string;
  readonly json?: boolean;
}

/** `bsfg status`: the node's `/status` from its admin listener (plain HTTP, no client certificate). */
export async function statusCommand(io: CliIo, flags: StatusFlags): Promise<number> {
  let url: string;
  try {
    const admin = flags.admin ?? resolveDevZone(flags, io.env)?.admin_url ?? io.env.BSFG_ADMIN;
    if (admin === undefined || admin === "")
      return fail(
        io,
        flags.json,
        "invalid_argument",
        "missing admin: pass --admin <url>, set BSFG_ADMIN, or use --dev <dev.json> --zone <zone>",
      );
    if (!URL.canParse(admin))
      return fail(io, flags.json, "invalid_argument", `admin URL ${admin}: not a URL`);
    url = new URL("/status", admin).toString();
  } catch (error) {
    return failWith(io, flags.json, error);
  }
  let document: unknown;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    const body = await res.text();
    if (!res.ok) return fail(io, flags.json, "unavailable", `GET ${url}: HTTP ${res.status} ${body.trim()}`);
    document = JSON.parse(body);
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? (error as Error).message;
    return fail(io, flags.json, "unavailable", `GET ${url}: ${why}`);
  }
  if (flags.json) {
    io.stdout.write(`${JSON.stringify(document)}\n`);
    return 0;
  }
  try {
    io.stdout.write(formatStatus(document, Date.now()));
    return 0;
  } catch (error) {
    return failWith(io, flags.json, error);
  }
}
