import { readFileSync } from "node:fs";
import { type Client, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { createWideWindowSessionManager } from "../adapters/connect/wide-window-session-manager.js";
import { BoundaryService } from "../gen/bsfg/v1/boundary_pb.js";
import { type DevFlags, type DevJsonZone, resolveDevZone } from "./dev-json.js";

export interface ClientFlags extends DevFlags {
  readonly node?: string;
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly protocol?: string;
}

export interface ClientEndpoint {
  readonly node: string;
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
  /** The dev.json entry the endpoint came from, if any. */
  readonly devZone?: DevJsonZone;
}

export interface ResolvedClient {
  readonly node: string;
  readonly client: Client<typeof BoundaryService>;
  readonly devZone?: DevJsonZone;
}

/** Flags win over dev.json (`--dev`/`BSFG_DEV` with `--zone`), which wins over BSFG_NODE / BSFG_CA / BSFG_CERT / BSFG_KEY. */
export function resolveEndpoint(
  flags: ClientFlags,
  env: Readonly<Record<string, string | undefined>>,
): ClientEndpoint {
  const devZone = resolveDevZone(flags, env);
  const pick = (flag: string | undefined, fromDev: string | undefined, name: string, what: string) => {
    const value = flag ?? fromDev ?? env[name];
    if (value === undefined || value === "")
      throw new Error(`missing ${what}: pass --${what}, set ${name}, or use --dev <dev.json> --zone <zone>`);
    return value;
  };
  return {
    node: pick(flags.node, devZone?.url, "BSFG_NODE", "node"),
    ca: pick(flags.ca, devZone?.ca, "BSFG_CA", "ca"),
    cert: pick(flags.cert, devZone?.cert, "BSFG_CERT", "cert"),
    key: pick(flags.key, devZone?.key, "BSFG_KEY", "key"),
    ...(devZone !== undefined && { devZone }),
  };
}

export function resolveClient(
  flags: ClientFlags,
  env: Readonly<Record<string, string | undefined>>,
): ResolvedClient {
  const endpoint = resolveEndpoint(flags, env);
  const nodeOptions = {
    ca: readFileSync(endpoint.ca),
    cert: readFileSync(endpoint.cert),
    key: readFileSync(endpoint.key),
  };
  const options = { baseUrl: endpoint.node, httpVersion: "2" as const, nodeOptions };
  const transport =
    (flags.protocol ?? "connect") === "grpc"
      ? createGrpcTransport(options)
      : createConnectTransport({
          baseUrl: endpoint.node,
          httpVersion: "2",
          sessionManager: createWideWindowSessionManager(endpoint.node, nodeOptions),
        });
  return {
    node: endpoint.node,
    client: createClient(BoundaryService, transport),
    ...(endpoint.devZone !== undefined && { devZone: endpoint.devZone }),
  };
}
