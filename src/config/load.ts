import { accessSync, constants, readFileSync } from "node:fs";
import { parseDocument } from "yaml";
import type { z } from "zod";
import { type Config, configSchema } from "./schema.js";

export type ConfigResult =
  | { readonly ok: true; readonly config: Config }
  | { readonly ok: false; readonly problems: string[] };

const ENV_PREFIX = "BSFG__";

/**
 * Parses YAML config text, applies `BSFG_*` environment overrides and
 * validates the result. Every problem is reported with its path, so a person
 * can fix them all in one pass. Override names are the config path in upper
 * case after `BSFG__`, with `__` between levels (`BSFG__NATS__SERVERS=[nats://a:4222]`,
 * `BSFG__LISTEN__RPC=0.0.0.0:9443`); values are YAML scalars or flow collections.
 */
export function parseConfig(text: string, env: Readonly<Record<string, string | undefined>>): ConfigResult {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return { ok: false, problems: doc.errors.map((e) => `yaml: ${e.message.split("\n")[0]}`) };
  }
  const raw = doc.toJS() as unknown;
  if (raw !== null && (typeof raw !== "object" || Array.isArray(raw))) {
    return { ok: false, problems: ["(root): must be a mapping of settings"] };
  }
  const merged = (raw ?? {}) as Record<string, unknown>;
  const envProblems = applyEnvOverrides(merged, env);
  const result = configSchema.safeParse(merged, {
    error: (issue) =>
      issue.code === "invalid_type" && issue.input === undefined ? "is required" : undefined,
  });
  const problems = [...envProblems, ...(result.success ? [] : formatIssues(result.error.issues))];
  if (problems.length > 0 || !result.success) return { ok: false, problems };
  return { ok: true, config: result.data };
}

export function loadConfigFile(
  path: string,
  env: Readonly<Record<string, string | undefined>>,
): ConfigResult {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    return {
      ok: false,
      problems: [`${path}: cannot read (${(error as NodeJS.ErrnoException).code ?? "error"})`],
    };
  }
  return parseConfig(text, env);
}

/** Files the config points at that are missing or unreadable. */
export function checkReferencedFiles(config: Config): string[] {
  const files: Array<[string, string | undefined]> = [
    ["tls.ca", config.tls.ca],
    ["tls.cert", config.tls.cert],
    ["tls.key", config.tls.key],
    ["nats.password_file", config.nats.password_file],
    ["nats.token_file", config.nats.token_file],
    ["nats.nkey_seed_file", config.nats.nkey_seed_file],
    ["nats.creds_file", config.nats.creds_file],
    ["nats.tls.ca", config.nats.tls?.ca],
    ["nats.tls.cert", config.nats.tls?.cert],
    ["nats.tls.key", config.nats.tls?.key],
  ];
  const problems: string[] = [];
  for (const [path, file] of files) {
    if (file === undefined) continue;
    try {
      accessSync(file, constants.R_OK);
    } catch {
      problems.push(`${path}: file "${file}" does not exist or is not readable`);
    }
  }
  return problems;
}

function applyEnvOverrides(
  target: Record<string, unknown>,
  env: Readonly<Record<string, string | undefined>>,
): string[] {
  const problems: string[] = [];
  for (const [name, value] of Object.entries(env).sort(([a], [b]) => a.localeCompare(b))) {
    if (!name.startsWith(ENV_PREFIX) || value === undefined) continue;
    const path = name.slice(ENV_PREFIX.length).toLowerCase().split("__");
    if (path.some((p) => p === "")) {
      problems.push(`${name}: not a config path`);
      continue;
    }
    const parsed = parseDocument(value);
    const scalar = parsed.errors.length > 0 ? value : (parsed.toJS() as unknown);
    let node = target;
    for (const key of path.slice(0, -1)) {
      const next = node[key];
      if (next === undefined || next === null) node[key] = {};
      else if (typeof next !== "object" || Array.isArray(next)) {
        problems.push(`${name}: ${key} is not a mapping in the config file`);
        node = {};
        break;
      }
      node = node[key] as Record<string, unknown>;
    }
    node[path[path.length - 1] as string] = scalar;
  }
  return problems;
}

function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => {
    const path = issue.path.length === 0 ? "(root)" : issue.path.map(String).join(".");
    return `${path}: ${issue.message}`;
  });
}
