import { createHash } from "node:crypto";
import { once } from "node:events";
import { createWriteStream, type WriteStream } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { fail, failWith } from "./cli-failure.js";
import type { CliIo } from "./cli-io.js";
import { type ClientFlags, resolveClient } from "./client-options.js";
import { createTransferProgress, type TransferProgress, transferSummary } from "./transfer-progress.js";

/** `key` is the object key here; the TLS key comes as `tlsKey` (flag `--tls-key`). */
export interface GetObjectFlags extends Omit<ClientFlags, "key"> {
  readonly tlsKey?: string;
  readonly bucket: string;
  readonly key: string;
  readonly output: string;
  readonly json?: boolean;
}

/**
 * `bsfg get-object --bucket --key -o FILE`: streams the object to
 * `FILE.partial`, honouring the file's back-pressure, verifies size and
 * digest, and only then renames it to FILE.
 */
export async function getObjectCommand(io: CliIo, flags: GetObjectFlags): Promise<number> {
  const partial = `${flags.output}.partial`;
  let progress: TransferProgress | undefined;
  let out: WriteStream | undefined;
  try {
    const { key: _objectKey, tlsKey, ...endpoint } = flags;
    const { client } = resolveClient({ ...endpoint, ...(tlsKey !== undefined && { key: tlsKey }) }, io.env);
    out = createWriteStream(partial);
    const hash = createHash("sha256");
    let info: { digest: string; size: bigint } | undefined;
    let received = 0;
    const started = Date.now();
    for await (const res of client.getObject({ bucket: flags.bucket, key: flags.key })) {
      if (res.part.case === "info") {
        info = res.part.value;
        progress = createTransferProgress(io, "get", Number(info.size));
      } else if (res.part.case === "chunk") {
        const chunk = res.part.value;
        hash.update(chunk);
        received += chunk.length;
        progress?.advance(chunk.length);
        if (!out.write(chunk)) await once(out, "drain");
      }
    }
    out.end();
    await once(out, "finish");
    progress?.finish();
    const digest = `sha256:${hash.digest("hex")}`;
    if (info === undefined || BigInt(received) !== info.size || digest !== info.digest) {
      await rm(partial, { force: true });
      return fail(
        io,
        flags.json,
        "data_loss",
        `received ${received} bytes hashing to ${digest}, the node announced ${info?.size} bytes ${info?.digest}`,
      );
    }
    await rename(partial, flags.output);
    if (flags.json) {
      io.stdout.write(
        `${JSON.stringify({ bucket: flags.bucket, key: flags.key, digest, size: String(received), file: flags.output })}\n`,
      );
    } else {
      io.stdout.write(
        `wrote ${flags.output} ${digest} — ${transferSummary(received, started, Date.now())}\n`,
      );
    }
    return 0;
  } catch (error) {
    progress?.finish();
    out?.destroy();
    await rm(partial, { force: true });
    return failWith(io, flags.json, error);
  }
}
