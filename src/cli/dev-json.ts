import { readFileSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { z } from "zod";

const devZoneSchema = z.object({
  zone: z.string().min(1),
  role: z.enum(["external", "internal"]),
  url: z.url(),
  admin_url: z.url(),
  ca: z.string().min(1),
  cert: z.string().min(1),
  key: z.string().min(1),
  /** Category → the zone's local consumer of it. */
  consumers: z.record(z.string(), z.string().min(1)),
});

const devJsonSchema = z.object({
  zones: z
    .array(devZoneSchema)
    .min(1)
    .refine((zones) => new Set(zones.map((z) => z.zone)).size === zones.length, "zone names must be unique"),
});

/** What `bsfg dev` writes to `<dir>/dev.json`: per zone its endpoints and app client credentials. */
export type DevJson = z.output<typeof devJsonSchema>;
export type DevJsonZone = DevJson["zones"][number];

export interface DevFlags {
  readonly dev?: string;
  readonly zone?: string;
}

export function formatDevJson(dev: DevJson): string {
  return `${JSON.stringify(dev, null, 2)}\n`;
}

/** Relative credential paths are taken from the file's own directory, so a hand-written dev.json can travel. */
export function parseDevJson(text: string, source: string): DevJson {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new Error(`${source}: not JSON (${(error as Error).message})`);
  }
  const result = devJsonSchema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map(
      (i) => `${i.path.length === 0 ? "(root)" : i.path.map(String).join(".")}: ${i.message}`,
    );
    throw new Error(`${source}: not a bsfg dev file: ${problems.join("; ")}`);
  }
  const base = dirname(resolve(source));
  const absolute = (path: string) => (isAbsolute(path) ? path : resolve(base, path));
  return {
    zones: result.data.zones.map((z) => ({
      ...z,
      ca: absolute(z.ca),
      cert: absolute(z.cert),
      key: absolute(z.key),
    })),
  };
}

export function loadDevJson(path: string): DevJson {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "error";
    throw new Error(`${path}: cannot read (${code}); is \`bsfg dev\` running with this directory?`);
  }
  return parseDevJson(text, path);
}

export function selectDevZone(dev: DevJson, zone: string | undefined, source: string): DevJsonZone {
  const names = dev.zones.map((z) => z.zone).join(", ");
  if (zone === undefined || zone === "") throw new Error(`${source}: choose a zone with --zone (${names})`);
  const found = dev.zones.find((z) => z.zone === zone);
  if (found === undefined) throw new Error(`${source}: no zone "${zone}"; the zones in it are ${names}`);
  return found;
}

/**
 * The dev.json entry a client command talks to: `--dev` (else BSFG_DEV) names
 * the file, `--zone` (else BSFG_ZONE) the entry. Undefined when no file is named.
 */
export function resolveDevZone(
  flags: DevFlags,
  env: Readonly<Record<string, string | undefined>>,
): DevJsonZone | undefined {
  const file = nonEmpty(flags.dev) ?? nonEmpty(env.BSFG_DEV);
  if (file === undefined) {
    if (flags.zone !== undefined) throw new Error("--zone needs --dev <dev.json> (or BSFG_DEV)");
    return undefined;
  }
  return selectDevZone(loadDevJson(file), nonEmpty(flags.zone) ?? nonEmpty(env.BSFG_ZONE), file);
}

const nonEmpty = (value: string | undefined): string | undefined => (value === "" ? undefined : value);

/** With dev.json a consumer may be named by its category (`operational` → `operational-reader`). */
export function devConsumerName(nameOrCategory: string, devZone: DevJsonZone | undefined): string {
  return devZone?.consumers[nameOrCategory] ?? nameOrCategory;
}
