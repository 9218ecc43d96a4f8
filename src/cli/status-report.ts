import { z } from "zod";
import { shortDuration, textTable } from "./text-table.js";

// Only what the report prints; anything else the node adds is passed through by --json.
const statusSchema = z.object({
  zone: z.string(),
  role: z.string(),
  ready: z.boolean(),
  reasons: z.array(z.string()).default([]),
  gates: z.record(z.string(), z.object({ state: z.string(), since_unix_ms: z.number() })).default({}),
  imports: z
    .array(
      z.object({
        peer: z.string(),
        category: z.string(),
        high_water_mark: z.number(),
        lag_seconds: z.number(),
        last_progress_unix_ms: z.number(),
      }),
    )
    .default([]),
  consumers: z
    .array(
      z.object({
        name: z.string(),
        kind: z.string(),
        category: z.string(),
        peer: z.string().optional(),
        cursor: z.number(),
        backlog_facts: z.number(),
        backlog_oldest_age_seconds: z.number(),
        backlog_bytes_estimate: z.number().nullable().default(null),
        retention_headroom_seconds: z.number().nullable().default(null),
        retention_alarm: z.boolean().default(false),
        stalled: z.boolean().default(false),
        sampled_at_unix_ms: z.number(),
      }),
    )
    .default([]),
  categories: z
    .array(
      z.object({
        category: z.string(),
        fill_percent: z.number(),
        facts: z.number().nullable(),
        bytes: z.number().nullable(),
        max_age_seconds: z.number(),
        retention_headroom_seconds: z.number().nullable().default(null),
      }),
    )
    .default([]),
  certificates: z
    .record(z.string(), z.object({ file: z.string(), expires_in_seconds: z.number().nullable() }))
    .default({}),
});

/** The node's `/status` document as tables: gates, imports (lag, high-water mark), consumers (cursor, backlog). */
export function formatStatus(document: unknown, nowUnixMs: number): string {
  const parsed = statusSchema.safeParse(document);
  if (!parsed.success) throw new Error(`unexpected /status document: ${z.prettifyError(parsed.error)}`);
  const s = parsed.data;
  const ago = (unixMs: number) =>
    unixMs <= 0 ? "never" : `${shortDuration((nowUnixMs - unixMs) / 1000)} ago`;
  const section = (title: string, header: string[], rows: string[][]) =>
    rows.length === 0 ? [`${title}: none`] : [`${title}:`, ...textTable(header, rows).map((l) => `  ${l}`)];
  const lines = [
    `zone ${s.zone} (${s.role}): ${s.ready ? "ready" : `not ready (${s.reasons.join("; ")})`}`,
    ...section(
      "gates",
      ["PEER", "STATE", "SINCE"],
      Object.entries(s.gates).map(([peer, g]) => [peer, g.state, ago(g.since_unix_ms)]),
    ),
    ...section(
      "imports",
      ["PEER", "CATEGORY", "HIGH-WATER MARK", "LAG", "LAST PROGRESS"],
      s.imports.map((i) => [
        i.peer,
        i.category,
        String(i.high_water_mark),
        shortDuration(i.lag_seconds),
        ago(i.last_progress_unix_ms),
      ]),
    ),
    ...section(
      "consumers",
      [
        "NAME",
        "KIND",
        "CATEGORY",
        "PEER",
        "CURSOR",
        "BACKLOG",
        "~BYTES",
        "OLDEST",
        "HEADROOM",
        "ALARMS",
        "SAMPLED",
      ],
      s.consumers.map((c) => [
        c.name,
        c.kind,
        c.category,
        c.peer ?? "-",
        String(c.cursor),
        String(c.backlog_facts),
        c.backlog_bytes_estimate === null ? "-" : String(c.backlog_bytes_estimate),
        c.backlog_facts === 0 ? "-" : shortDuration(c.backlog_oldest_age_seconds),
        c.retention_headroom_seconds === null ? "∞" : shortDuration(c.retention_headroom_seconds),
        [c.retention_alarm ? "RETENTION" : "", c.stalled ? "STALLED" : ""].filter(Boolean).join(",") || "-",
        ago(c.sampled_at_unix_ms),
      ]),
    ),
    ...section(
      "store buffers",
      ["CATEGORY", "FILL", "FACTS", "BYTES", "MAX AGE", "HEADROOM"],
      s.categories.map((c) => [
        c.category,
        `${c.fill_percent}%`,
        String(c.facts ?? "?"),
        String(c.bytes ?? "?"),
        c.max_age_seconds === 0 ? "forever" : shortDuration(c.max_age_seconds),
        c.retention_headroom_seconds === null ? "-" : shortDuration(c.retention_headroom_seconds),
      ]),
    ),
    ...section(
      "certificates",
      ["CERT", "EXPIRES IN", "FILE"],
      Object.entries(s.certificates).map(([name, c]) => [
        name,
        c.expires_in_seconds === null ? "UNREADABLE" : shortDuration(c.expires_in_seconds),
        c.file,
      ]),
    ),
  ];
  return `${lines.join("\n")}\n`;
}
