#!/usr/bin/env node
// Runs the TypeScript sources directly (via tsx) so `npx bsfg` works right
// after `npm ci` with no build step; `npm run build` + `node dist/main.js` is
// the production path.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const built = fileURLToPath(new URL("../dist/main.js", import.meta.url));
if (process.env.BSFG_USE_DIST === "1" && existsSync(built)) {
  await import(built);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import("../src/main.ts");
}
