import type { ConfigInput } from "../config/schema.js";

export interface MeshZone {
  readonly zone: string;
  readonly role: "external" | "internal";
  readonly natsUrl: string;
  readonly rpcPort: number;
  readonly adminPort: number;
  /** This zone's node certificate (CN `<zone>-bsfg`) and the shared CA. */
  readonly tls: { readonly ca: string; readonly cert: string; readonly key: string };
}

export const DEV_CATEGORIES = ["operational", "audit", "documents", "telemetry"] as const;

/** The client identity `bsfg dev` issues for a zone: may append everywhere and read that zone's consumers. */
export const appIdentity = (zone: string): string => `${zone}-app`;
export const nodeIdentity = (zone: string): string => `${zone}-bsfg`;
/** The local consumer over a category's forward buffer. */
export const readerName = (category: string): string => `${category}-reader`;

/**
 * Configs for zones that all peer with each other over loopback, exporting
 * and importing every category, with an `artifacts` bucket the app may put to
 * and get from: the `bsfg dev` boundary and the multi-zone tests.
 */
export function meshConfigs(zones: readonly MeshZone[], overrides: Partial<ConfigInput> = {}): ConfigInput[] {
  return zones.map((self) => ({
    zone: self.zone,
    role: self.role,
    listen: { rpc: `127.0.0.1:${self.rpcPort}`, admin: `127.0.0.1:${self.adminPort}` },
    tls: { ...self.tls },
    nats: { servers: [self.natsUrl] },
    categories: {
      operational: { max_age: "7d", max_bytes: "1GiB" },
      audit: { max_age: "30d", max_bytes: "1GiB" },
      documents: { max_age: "7d", max_bytes: "1GiB" },
      telemetry: { max_age: "3d", max_bytes: "1GiB", dedup: "window" },
    },
    principals: { [appIdentity(self.zone)]: { append: ["*"], put: ["*"], get: ["*"] } },
    buckets: { artifacts: { max_bytes: "8GiB", max_object_bytes: "4GiB" } },
    consumers: Object.fromEntries(
      DEV_CATEGORIES.map((category) => [
        readerName(category),
        { category, principals: [appIdentity(self.zone)] },
      ]),
    ),
    peers: Object.fromEntries(
      zones
        .filter((other) => other.zone !== self.zone)
        .map((other) => [
          other.zone,
          {
            identity: nodeIdentity(other.zone),
            url: `https://127.0.0.1:${other.rpcPort}`,
            export: [...DEV_CATEGORIES],
            import: [...DEV_CATEGORIES],
          },
        ]),
    ),
    shutdown_timeout: "5s",
    ...overrides,
  }));
}
