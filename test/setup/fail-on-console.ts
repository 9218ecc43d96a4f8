// The daemon logs only through pino; a stray console call in code under test is a bug.
for (const method of ["log", "info", "warn", "error", "debug"] as const) {
  console[method] = (...args: unknown[]) => {
    throw new Error(`Unexpected console.${method} call: ${args.map(String).join(" ").slice(0, 200)}`);
  };
}
