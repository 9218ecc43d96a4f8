import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import type { PutObjectRequest } from "../gen/bsfg/v1/boundary_pb.js";
import { fail, failWith } from "./cli-failure.js";
import type { CliIo } from "./cli-io.js";
import { type ClientFlags, resolveClient } from "./client-options.js";
import { createTransferProgress, type TransferProgress, transferSummary } from "./transfer-progress.js";

/** `key` is the object key here; the TLS key comes as `tlsKey` (flag `--tls-key`). */
export interface PutObjectFlags extends Omit<ClientFlags, "key"> {
  readonly tlsKey?: string;
  readonly bucket: string;
  readonly key: string;
  readonly mediaType?: string;
  readonly json?: boolean;
}

const CHUNK_BYTES = 1024 * 1024;

/**
 * `bsfg put-object FILE --bucket --key`: streams the file (never whole in
 * memory) with its declared size, hashing it on the way, and checks that the
 * node stored exactly the bytes that were read.
 */
export async function putObjectCommand(io: CliIo, file: string, flags: PutObjectFlags): Promise<number> {
  let progress: TransferProgress | undefined;
  try {
    const { key: _objectKey, tlsKey, ...endpoint } = flags;
    const { client } = resolveClient({ ...endpoint, ...(tlsKey !== undefined && { key: tlsKey }) }, io.env);
    const size = (await stat(file)).size;
    const hash = createHash("sha256");
    progress = createTransferProgress(io, "put", size);
    const bar = progress;
    const started = Date.now();
    const messages = (async function* (): AsyncIterable<PutObjectRequest> {
      yield {
        part: {
          case: "header",
          value: {
            bucket: flags.bucket,
            key: flags.key,
            mediaType: flags.mediaType ?? "",
            size: BigInt(size),
          },
        },
      } as PutObjectRequest;
      for await (const chunk of createReadStream(file, { highWaterMark: CHUNK_BYTES })) {
        const bytes = chunk as Buffer;
        hash.update(bytes);
        bar.advance(bytes.length);
        yield { part: { case: "chunk", value: bytes } } as unknown as PutObjectRequest;
      }
    })();
    const res = await client.putObject(messages);
    progress.finish();
    const local = `sha256:${hash.digest("hex")}`;
    if (res.digest !== local) {
      return fail(io, flags.json, "data_loss", `the node stored ${res.digest}, the file hashes to ${local}`);
    }
    const result = { bucket: res.bucket, key: res.key, digest: res.digest, size: res.size.toString() };
    if (flags.json) io.stdout.write(`${JSON.stringify(result)}\n`);
    else
      io.stdout.write(
        `stored ${res.bucket}/${res.key} ${res.digest} — ${transferSummary(size, started, Date.now())}\n`,
      );
    return 0;
  } catch (error) {
    progress?.finish();
    return failWith(io, flags.json, error);
  }
}
