/** Layer rules (README "Architecture"): the core imports nothing from Node, NATS, Connect, pino or prom-client. */
const CORE = "^src/(domain|ports|use-cases)/";
const FOREIGN = [
  "^node:",
  "^(fs|path|os|http|http2|net|tls|crypto|events|stream|child_process|url|util)$",
  "@nats-io",
  "@connectrpc",
  "@bufbuild",
  "^pino",
  "prom-client",
  "node_modules/(@nats-io|@connectrpc|@bufbuild|pino|prom-client)",
];

module.exports = {
  forbidden: [
    {
      name: "cli-commands-load-lazily",
      severity: "error",
      comment:
        "run-cli loads each command's module when it runs (a node must not carry the dev supervisor, PKI generator and client commands)",
      from: { path: "^src/cli/run-cli\\.ts$" },
      to: { path: "^src/cli/[a-z-]+-command\\.ts$", dynamic: false, dependencyTypesNot: ["type-only"] },
    },
    {
      name: "core-imports-no-infrastructure",
      severity: "error",
      comment:
        "domain/, ports/ and use-cases/ stay free of Node, NATS, Connect, protobuf, pino and prom-client",
      from: { path: CORE },
      to: { path: FOREIGN.join("|") },
    },
    {
      name: "core-builtins",
      severity: "error",
      comment: "no Node built-ins in the core",
      from: { path: CORE },
      to: { dependencyTypes: ["core"] },
    },
    {
      name: "core-not-outward",
      severity: "error",
      comment: "the core never depends on adapters, rpc, server, config, cli or generated code",
      from: { path: CORE },
      to: { path: "^src/(adapters|rpc|server|config|cli|observability|gen|pki|app\\.ts|main\\.ts)" },
    },
    {
      name: "domain-is-innermost",
      severity: "error",
      from: { path: "^src/domain/" },
      to: { path: "^src/(ports|use-cases)/" },
    },
    {
      name: "ports-only-domain",
      severity: "error",
      from: { path: "^src/ports/" },
      to: { path: "^src/use-cases/" },
    },
    {
      name: "adapters-not-inward-edges",
      severity: "error",
      comment: "adapters implement ports; they never reach the RPC edge or use cases",
      from: { path: "^src/adapters/", pathNot: "^src/adapters/connect/" },
      to: { path: "^src/(rpc|server|use-cases|cli|gen)/" },
    },
    {
      name: "connect-adapter-only-mappings",
      severity: "error",
      comment:
        "the outbound Connect adapter shares the proto mappings, the stored-records wire codec and generated code, nothing else of the edge",
      from: { path: "^src/adapters/connect/" },
      to: { path: "^src/(server|use-cases|cli)/|^src/rpc/(?!stored-fact-mapping|stored-records-wire)" },
    },
    {
      name: "only-main-touches-process",
      severity: "error",
      comment: "checked by test/unit/architecture.test.ts (process is a global, not an import)",
      from: { path: "^src/(?!main\\.ts)" },
      to: { path: "^src/main\\.ts$" },
    },
    { name: "no-circular", severity: "error", from: {}, to: { circular: true } },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^src/gen/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default"],
    },
  },
};
