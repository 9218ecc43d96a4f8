import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

const SRC = join(import.meta.dirname, "../../src");

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === "gen" ? [] : sources(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

describe("architecture", () => {
  // `process` is a global, so dependency-cruiser cannot see it; this does.
  it("only src/main.ts touches process", () => {
    const offenders = sources(SRC)
      .filter((file) => !file.endsWith("/main.ts"))
      .filter((file) =>
        // Not after "-" or "/": module paths such as "./nats-server-process.js" are not the global.
        /(?<![\w/-])process\s*\./.test(readFileSync(file, "utf8").replace(/\/\/.*$|\/\*[\s\S]*?\*\//gm, "")),
      )
      .map((file) => relative(SRC, file));
    expect(offenders).toEqual([]);
  });

  it("the core uses no Node globals such as Buffer or setTimeout", () => {
    const core = sources(SRC).filter((f) => /\/src\/(domain|ports|use-cases)\//.test(f));
    expect(core.length).toBeGreaterThan(5);
    const offenders = core.filter((file) =>
      /\b(Buffer|setTimeout|setInterval|require|__dirname)\b/.test(readFileSync(file, "utf8")),
    );
    expect(offenders.map((f) => relative(SRC, f))).toEqual([]);
  });
});
