import { type FSWatcher, readFileSync, statSync, watch } from "node:fs";
import { basename, dirname } from "node:path";
import { createSecureContext } from "node:tls";
import type { Logger } from "../ports/logger.js";

export interface TlsMaterial {
  readonly ca: Buffer;
  readonly cert: Buffer;
  readonly key: Buffer;
}

export interface TlsFiles {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

/** Reads the files and proves they form a usable context (key matches certificate) before anyone uses them. */
export function loadTlsMaterial(files: TlsFiles): TlsMaterial {
  const material = {
    ca: readFileSync(files.ca),
    cert: readFileSync(files.cert),
    key: readFileSync(files.key),
  };
  createSecureContext({ ...material, minVersion: "TLSv1.3" });
  return material;
}

/** Warns when a private key is readable by group or others: it is the zone identity. */
export function warnOnLoosePermissions(files: TlsFiles, logger: Logger): void {
  try {
    const mode = statSync(files.key).mode & 0o777;
    if ((mode & 0o077) !== 0) {
      logger.warn(
        { file: files.key, mode: `0${mode.toString(8)}` },
        "private key file is readable by group or others; chmod 600 it",
      );
    }
  } catch {
    // Unreadable keys fail loudly elsewhere (config check, TLS setup).
  }
}

/**
 * Watches the directories of the TLS files (so atomic renames by cert
 * tooling are seen) and calls `onChange` once per burst of changes.
 */
export function watchTlsFiles(files: TlsFiles, onChange: () => void, debounceMs = 500): { close(): void } {
  const names = new Map<string, Set<string>>();
  for (const path of [files.ca, files.cert, files.key]) {
    const dir = dirname(path);
    names.set(dir, (names.get(dir) ?? new Set()).add(basename(path)));
  }
  let timer: NodeJS.Timeout | undefined;
  const watchers: FSWatcher[] = [];
  for (const [dir, wanted] of names) {
    try {
      const watcher = watch(dir, (_event, file) => {
        if (file !== null && !wanted.has(file.toString())) return;
        clearTimeout(timer);
        timer = setTimeout(onChange, debounceMs);
        timer.unref();
      });
      watcher.unref();
      watchers.push(watcher);
    } catch {
      // A directory that cannot be watched still reloads on SIGHUP.
    }
  }
  return {
    close() {
      clearTimeout(timer);
      for (const w of watchers) w.close();
    },
  };
}
