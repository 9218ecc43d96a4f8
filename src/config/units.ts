import { z } from "zod";

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1e3,
  m: 60e3,
  h: 3600e3,
  d: 86400e3,
  w: 604800e3,
  y: 31536000e3,
};
const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};

/** "30d", "12h", "90s", "250ms", or a number of milliseconds; 0 means "forever" where allowed. */
export const duration = z.union([z.number().int().nonnegative(), z.string()]).transform((value, ctx) => {
  if (typeof value === "number") return value;
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w|y)$/.exec(value.trim());
  if (m === null) {
    ctx.addIssue({
      code: "custom",
      message: `"${value}" is not a duration (e.g. 250ms, 90s, 15m, 12h, 30d, 1y)`,
    });
    return z.NEVER;
  }
  return Math.round(Number(m[1]) * (DURATION_UNITS[m[2] as string] as number));
});

/** "10GiB", "512MB", "4096", or a number of bytes; -1 means unlimited where allowed. */
export const size = z.union([z.number().int().min(-1), z.string()]).transform((value, ctx) => {
  if (typeof value === "number") return value;
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]i?b|b)?$/i.exec(value.trim());
  if (m === null) {
    ctx.addIssue({ code: "custom", message: `"${value}" is not a size (e.g. 512MiB, 10GiB, 1GB)` });
    return z.NEVER;
  }
  return Math.floor(Number(m[1]) * (SIZE_UNITS[(m[2] ?? "b").toLowerCase()] as number));
});

/** "host:port", "[::1]:port" or ":port". */
export const listenAddress = z.string().transform((value, ctx) => {
  const m = /^(?:\[([0-9a-fA-F:]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(value);
  const port = Number(m?.[3]);
  if (m === null || port > 65535) {
    ctx.addIssue({
      code: "custom",
      message: `"${value}" is not host:port (e.g. 0.0.0.0:9443 or 127.0.0.1:9464)`,
    });
    return z.NEVER;
  }
  return { host: m[1] ?? (m[2] === "" ? "0.0.0.0" : (m[2] as string)), port };
});
