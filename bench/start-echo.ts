/** Starts bench/echo-server.ts as its own process (so it gets a core as the node does). */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const ECHO = fileURLToPath(new URL("./echo-server.ts", import.meta.url));

export async function startEcho(
  ca: string,
  cert: string,
  key: string,
): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", ECHO, ca, cert, key], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const [line] = (await Promise.race([
    once(lines, "line"),
    once(child, "exit").then(() => {
      throw new Error("echo server exited before listening");
    }),
  ])) as [string];
  return { child, url: `https://127.0.0.1:${(JSON.parse(line) as { port: number }).port}` };
}
