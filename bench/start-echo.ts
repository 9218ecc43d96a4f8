/** Starts a bench RPC server (bench/echo-server.ts, bench/bare-service.ts) as its own process, so it gets a core as the node does. */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const ECHO = fileURLToPath(new URL("./echo-server.ts", import.meta.url));

export function startEcho(
  ca: string,
  cert: string,
  key: string,
): Promise<{ child: ChildProcess; url: string }> {
  return startBenchServer(ECHO, [ca, cert, key]);
}

/** Runs `script` under tsx and waits for the {"port": N} line it prints once listening. */
export async function startBenchServer(
  script: string,
  args: readonly string[],
): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", script, ...args], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const [line] = (await Promise.race([
    once(lines, "line"),
    once(child, "exit").then(() => {
      throw new Error(`${script} exited before listening`);
    }),
  ])) as [string];
  return { child, url: `https://127.0.0.1:${(JSON.parse(line) as { port: number }).port}` };
}
