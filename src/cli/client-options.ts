import { readFileSync } from "node:fs";
import { type Client, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { BoundaryService } from "../gen/bsfg/v1/boundary_pb.js";

export interface ClientFlags {
  readonly node?: string;
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly protocol?: string;
}

export interface ResolvedClient {
  readonly node: string;
  readonly client: Client<typeof BoundaryService>;
}

/** Flags win over BSFG_NODE / BSFG_CA / BSFG_CERT / BSFG_KEY. */
export function resolveClient(
  flags: ClientFlags,
  env: Readonly<Record<string, string | undefined>>,
): ResolvedClient {
  const pick = (flag: string | undefined, name: string, what: string): string => {
    const value = flag ?? env[name];
    if (value === undefined || value === "")
      throw new Error(`missing ${what}: pass --${what} or set ${name}`);
    return value;
  };
  const node = pick(flags.node, "BSFG_NODE", "node");
  const nodeOptions = {
    ca: readFileSync(pick(flags.ca, "BSFG_CA", "ca")),
    cert: readFileSync(pick(flags.cert, "BSFG_CERT", "cert")),
    key: readFileSync(pick(flags.key, "BSFG_KEY", "key")),
  };
  const options = { baseUrl: node, httpVersion: "2" as const, nodeOptions };
  const transport =
    (flags.protocol ?? "connect") === "grpc" ? createGrpcTransport(options) : createConnectTransport(options);
  return { node, client: createClient(BoundaryService, transport) };
}
