import { z } from "zod";
import { duration, listenAddress, size } from "./units.js";

const ZONE = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const CATEGORY = /^[a-z][a-z0-9_-]{0,31}$/;
const KIND = /^[a-z][a-z0-9_-]{0,63}$/;

const zoneName = z.string().regex(ZONE, "must be lower-case letters, digits and '-' (a DNS label)");
const categoryName = z.string().regex(CATEGORY, "must match [a-z][a-z0-9_-]{0,31}");

const categorySchema = z
  .object({
    max_age: duration.default(7 * 86400e3),
    max_bytes: size.default(1024 ** 3),
    max_msgs: z.number().int().min(-1).default(-1),
    max_fact_bytes: size.default(1024 ** 2),
    replicas: z.union([z.literal(1), z.literal(3), z.literal(5)]).default(1),
    storage: z.enum(["file", "memory"]).default("file"),
    dedup: z.enum(["index", "window"]).default("index"),
    duplicate_window: duration.default(120_000),
  })
  .strict();

const DEFAULT_CATEGORIES: Record<string, z.input<typeof categorySchema>> = {
  operational: {},
  audit: { max_age: "365d" },
  documents: {},
  telemetry: { dedup: "window", max_age: "3d" },
};

const bucketName = z.string().regex(/^[a-z][a-z0-9_-]{0,63}$/, "must match [a-z][a-z0-9_-]{0,63}");

const principalSchema = z
  .object({
    /** Categories the principal may append to; "*" for all. */
    append: z.array(z.union([categoryName, z.literal("*")])).default([]),
    /** Buckets the principal may PutObject into / GetObject from; "*" for all. */
    put: z.array(z.union([bucketName, z.literal("*")])).default([]),
    get: z.array(z.union([bucketName, z.literal("*")])).default([]),
  })
  .strict();

const bucketSchema = z
  .object({
    max_bytes: size.default(10 * 1024 ** 3),
    max_object_bytes: size.default(4 * 1024 ** 3),
    replicas: z.union([z.literal(1), z.literal(3), z.literal(5)]).default(1),
    storage: z.enum(["file", "memory"]).default("file"),
    /** Objects no retained fact references are removed once older than this. */
    orphan_age: duration.default(86_400_000),
  })
  .strict();

const consumerSchema = z
  .object({
    /** The forward buffer (imported facts) this consumer reads. */
    category: categoryName,
    /** Principals that may fetch and confirm with it; "*" for any authenticated client. */
    principals: z.array(z.string().min(1)).min(1),
    /** Only facts imported from this zone, when set. */
    from_zone: zoneName.optional(),
  })
  .strict();

const peerSchema = z
  .object({
    /** Certificate identity (CN or URI SAN) the peer's node presents. */
    identity: z.string().min(1),
    /** The peer's RPC base URL, used by the receiver loop. */
    url: z.url().optional(),
    /** Our categories the peer may fetch. */
    export: z.array(categoryName).default([]),
    /** The peer's categories we pull into our forward buffers. */
    import: z.array(categoryName).default([]),
    /** Our buckets the peer's node may GetObject from (to copy referenced artifacts); default all. */
    buckets: z.array(bucketName).optional(),
  })
  .strict();

export const configSchema = z
  .object({
    zone: zoneName,
    role: z.enum(["external", "internal"]),
    listen: z
      .object({
        rpc: listenAddress.default({ host: "0.0.0.0", port: 9443 }),
        admin: listenAddress.default({ host: "127.0.0.1", port: 9464 }),
      })
      .strict()
      .prefault({}),
    tls: z
      .object({
        ca: z.string().min(1),
        cert: z.string().min(1),
        key: z.string().min(1),
        /** Where a client's identity is read from. */
        identity: z.enum(["cn", "uri_san"]).default("cn"),
      })
      .strict(),
    nats: z
      .object({
        servers: z
          .array(
            z
              .string()
              .regex(/^(nats|tls):\/\/[^\s]+$/, "must be a nats:// or tls:// URL")
              // URLs are logged and shown; credentials belong in files (user + password_file, token_file, ...).
              .refine((url) => !/^[a-z]+:\/\/[^/]*@/i.test(url), {
                message:
                  "must not carry credentials; use nats.user with nats.password_file, or nats.token_file",
              }),
          )
          .min(1),
        user: z.string().optional(),
        password_file: z.string().optional(),
        token_file: z.string().optional(),
        nkey_seed_file: z.string().optional(),
        creds_file: z.string().optional(),
        tls: z.object({ ca: z.string(), cert: z.string(), key: z.string() }).partial().strict().optional(),
        request_timeout: duration.default(5000),
      })
      .strict(),
    categories: z.record(categoryName, categorySchema).prefault(DEFAULT_CATEGORIES),
    default_category: categoryName.default("operational"),
    /** Subject kind → category, used when an append names no category. */
    category_rules: z
      .record(z.string().regex(KIND, "must be a lower-case subject kind"), categoryName)
      .default({}),
    backpressure: z
      .object({ fill_percent: z.number().min(1).max(100).default(80) })
      .strict()
      .prefault({}),
    limits: z
      .object({
        max_json_depth: z.number().int().min(1).max(1000).default(64),
        max_labels: z.number().int().min(0).max(256).default(32),
        max_batch_items: z.number().int().min(1).max(100_000).default(1000),
        /** Facts being stored at once across all appends; more wait their turn. */
        max_facts_in_flight: z.number().int().min(1).max(1_000_000).default(8192),
        max_request_bytes: size.default(8 * 1024 ** 2),
        // The RPC listener (HTTP/2 and HTTP/1.1 over TLS); see src/server/rpc-limits.ts.
        /** Request header block (HTTP/2 header list, HTTP/1.1 header section). */
        max_header_bytes: size.default(16 * 1024),
        /** Concurrent streams (RPCs in flight) per HTTP/2 connection. */
        max_concurrent_streams: z.number().int().min(1).max(100_000).default(1000),
        /** HTTP/2 protocol memory per connection (header tables, queued frames). */
        max_session_memory: size.default(64 * 1024 ** 2),
        /** Open connections on the RPC listener, TLS handshakes in progress included. */
        max_connections: z.number().int().min(1).max(1_000_000).default(1000),
        /** Requests in progress across all connections; more are answered resource_exhausted. */
        max_inflight_requests: z.number().int().min(1).max(1_000_000).default(2000),
        /** Request body bytes requests in progress may hold (each counted up to max_request_bytes). */
        max_inflight_request_bytes: size.default(128 * 1024 ** 2),
        /** From TCP accept to a completed TLS handshake. */
        handshake_timeout: duration.default(10_000),
        /** A connection with no traffic at all for this long is closed; must exceed fetch.max_wait. */
        idle_timeout: duration.default(120_000),
        /** A request whose headers or body stop arriving for this long is cut off (slow uploads). */
        request_idle_timeout: duration.default(30_000),
        /** A request must arrive whole within this (over HTTP/2 all RPCs but PutObject uploads). */
        request_timeout: duration.default(300_000),
      })
      .strict()
      .prefault({}),
    principals: z.record(z.string().min(1), principalSchema).default({}),
    /** Artifact buckets (JetStream streams objects_<bucket>). */
    buckets: z.record(bucketName, bucketSchema).prefault({ artifacts: {} }),
    peers: z.record(zoneName, peerSchema).default({}),
    /** Local consumers over forward buffers; peers' store-buffer consumers are derived from `peers`. */
    consumers: z
      .record(
        z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, "must match [a-z0-9][a-z0-9_-]{0,63}"),
        consumerSchema,
      )
      .default({}),
    receiver: z
      .object({
        batch: z.number().int().min(1).max(1000).default(500),
        wait: duration.default(5000),
        backoff_base: duration.default(200),
        backoff_max: duration.default(5000),
      })
      .strict()
      .prefault({}),
    fetch: z
      .object({
        default_limit: z.number().int().min(1).max(10_000).default(100),
        max_limit: z.number().int().min(1).max(10_000).default(1000),
        max_wait: duration.default(30_000),
      })
      .strict()
      .prefault({}),
    alarms: z
      .object({
        /** Alarm when an unconfirmed fact will reach its category's max_age within this horizon. */
        retention_horizon: duration.default(86_400_000),
        /** A consumer with a backlog whose cursor has not moved for this long is stalled. */
        stall_after: duration.default(300_000),
        /** Store-buffer fill levels (percent) that log a warning when crossed upwards. */
        fill_warn_percent: z.array(z.number().min(1).max(100)).default([50, 80, 95]),
      })
      .strict()
      .prefault({}),
    shutdown_timeout: duration.default(15_000),
    log_level: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
  })
  .strict()
  .superRefine((c, ctx) => {
    const categories = new Set(Object.keys(c.categories));
    const need = (name: string, path: PropertyKey[]) => {
      if (!categories.has(name))
        ctx.addIssue({ code: "custom", path, message: `unknown category "${name}"` });
    };
    if (categories.size === 0)
      ctx.addIssue({ code: "custom", path: ["categories"], message: "at least one category" });
    need(c.default_category, ["default_category"]);
    for (const [kind, category] of Object.entries(c.category_rules)) need(category, ["category_rules", kind]);
    for (const [name, p] of Object.entries(c.principals)) {
      p.append.forEach((cat, i) => {
        if (cat !== "*") need(cat, ["principals", name, "append", i]);
      });
      for (const action of ["put", "get"] as const) {
        p[action].forEach((bucket, i) => {
          if (bucket !== "*" && !(bucket in c.buckets)) {
            ctx.addIssue({
              code: "custom",
              path: ["principals", name, action, i],
              message: `unknown bucket "${bucket}"`,
            });
          }
        });
      }
    }
    for (const [zone, peer] of Object.entries(c.peers)) {
      if (zone === c.zone)
        ctx.addIssue({ code: "custom", path: ["peers", zone], message: "a zone cannot peer with itself" });
      peer.export.forEach((cat, i) => {
        need(cat, ["peers", zone, "export", i]);
      });
      peer.import.forEach((cat, i) => {
        need(cat, ["peers", zone, "import", i]);
      });
    }
    for (const [name, consumer] of Object.entries(c.consumers))
      need(consumer.category, ["consumers", name, "category"]);
    for (const [zone, peer] of Object.entries(c.peers)) {
      if (peer.import.length > 0 && peer.url === undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["peers", zone, "url"],
          message: "is required to import from this peer",
        });
      }
    }
    for (const [name, cat] of Object.entries(c.categories)) {
      if (cat.dedup === "window" && cat.max_age > 0 && cat.duplicate_window > cat.max_age) {
        ctx.addIssue({
          code: "custom",
          path: ["categories", name, "duplicate_window"],
          message: "must not exceed max_age",
        });
      }
      if (cat.duplicate_window < 100) {
        ctx.addIssue({
          code: "custom",
          path: ["categories", name, "duplicate_window"],
          message: "must be at least 100ms",
        });
      }
    }
    const limits = c.limits;
    const limit = (field: keyof typeof limits, message: string) =>
      ctx.addIssue({ code: "custom", path: ["limits", field], message });
    if (limits.max_request_bytes < 1024) limit("max_request_bytes", "must be at least 1KiB");
    if (limits.max_header_bytes < 1024) limit("max_header_bytes", "must be at least 1KiB");
    if (limits.max_session_memory < 1024 ** 2) limit("max_session_memory", "must be at least 1MiB");
    if (limits.max_inflight_request_bytes < limits.max_request_bytes)
      limit("max_inflight_request_bytes", "must be at least limits.max_request_bytes");
    for (const field of [
      "handshake_timeout",
      "idle_timeout",
      "request_idle_timeout",
      "request_timeout",
    ] as const)
      if (limits[field] < 100) limit(field, "must be at least 100ms");
    if (limits.idle_timeout <= c.fetch.max_wait)
      limit("idle_timeout", "must exceed fetch.max_wait, or parked long-polls are cut off");
    if (limits.request_idle_timeout > limits.request_timeout)
      limit("request_idle_timeout", "must not exceed limits.request_timeout");
    const secrets = [
      c.nats.password_file,
      c.nats.token_file,
      c.nats.nkey_seed_file,
      c.nats.creds_file,
    ].filter((s) => s !== undefined);
    if (
      secrets.length > 1 &&
      !(c.nats.user !== undefined && c.nats.password_file !== undefined && secrets.length === 1)
    ) {
      ctx.addIssue({
        code: "custom",
        path: ["nats"],
        message: "choose one of password_file, token_file, nkey_seed_file, creds_file",
      });
    }
    if (c.nats.password_file !== undefined && c.nats.user === undefined) {
      ctx.addIssue({ code: "custom", path: ["nats", "user"], message: "is required with password_file" });
    }
  });

export type Config = z.output<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
export type CategoryConfig = Config["categories"][string];
