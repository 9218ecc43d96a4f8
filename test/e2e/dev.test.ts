import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, isAbsolute, join, sep } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BSFG_BIN, runBsfg } from "../fixtures/spawn-bsfg.js";
import { eventually } from "../fixtures/test-node.js";

interface DevRun {
  readonly child: ChildProcess;
  readonly stdout: () => string;
  readonly stderr: () => string;
  readonly exited: Promise<number | null>;
}

interface DevJsonZone {
  zone: string;
  role: string;
  url: string;
  admin_url: string;
  ca: string;
  cert: string;
  key: string;
  consumers: Record<string, string>;
}

interface FetchedFact {
  offset: string;
  category: string;
  envelope: { message_id: string; from_zone: string; to_zone: string };
  fact: { subject: string; predicate: string; object_json: string };
}

let dir: string;
let devJson: string;
const runs: DevRun[] = [];

function startDev(): DevRun {
  const child = spawn(process.execPath, [BSFG_BIN, "dev", "--dir", dir], { env: { ...process.env } });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const run = {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    exited: once(child, "exit").then(([code]) => code as number | null),
  };
  runs.push(run);
  return run;
}

const isRunning = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;

/** Pids of nats-servers whose store (`-sd`) is under `dir`: the ones `bsfg dev` spawned for this test. */
function natsServersUnder(root: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
    } catch {
      continue; // exited while we looked
    }
    const store = argv[argv.indexOf("-sd") + 1];
    if (basename(argv[0] ?? "") === "nats-server" && argv.includes("-sd") && store?.startsWith(root + sep))
      pids.push(Number(entry));
  }
  return pids;
}

async function waitUntilReady(run: DevRun): Promise<DevJsonZone[]> {
  await eventually(
    async () => {
      if (!isRunning(run.child)) throw new Error(`bsfg dev exited early:\n${run.stdout()}\n${run.stderr()}`);
      if (!existsSync(devJson)) return false;
      const zones = readDevJson();
      const statuses = await Promise.all(
        zones.map((z) =>
          fetch(`${z.admin_url}/readyz`).then(
            (r) => r.status,
            () => 0,
          ),
        ),
      );
      return statuses.length === 2 && statuses.every((s) => s === 200);
    },
    30_000,
    "dev.json and both /readyz answering 200",
  );
  return readDevJson();
}

function readDevJson(): DevJsonZone[] {
  return (JSON.parse(readFileSync(devJson, "utf8")) as { zones: DevJsonZone[] }).zones;
}

async function stopWithSigint(run: DevRun): Promise<number | null> {
  run.child.kill("SIGINT");
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`bsfg dev did not exit:\n${run.stderr()}`)), 30_000);
  });
  try {
    return await Promise.race([run.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const dev = (zone: string) => ["--dev", devJson, "--zone", zone];

async function fetchPlant(): Promise<{ cursor: string; facts: FetchedFact[] }> {
  const result = await runBsfg([
    "fetch",
    ...dev("plant-a"),
    "--consumer",
    "operational",
    "--wait-ms",
    "5000",
    "--json",
  ]);
  expect(result.stderr).toBe("");
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as { cursor: string; facts: FetchedFact[] };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "bsfg-dev-"));
  devJson = join(dir, "dev.json");
});

afterAll(async () => {
  for (const run of runs) if (isRunning(run.child)) run.child.kill("SIGKILL");
  await Promise.all(runs.map((r) => r.exited));
  if (dir === undefined) return;
  for (const pid of natsServersUnder(dir)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  await rm(dir, { recursive: true, force: true });
});

describe("bsfg dev", () => {
  let first: DevRun;
  let confirmedOffset: string;
  let caPem: string;

  it("starts two zones with their own nats-servers and writes dev.json", async () => {
    first = startDev();
    const zones = await waitUntilReady(first);

    expect(zones.map((z) => [z.zone, z.role])).toEqual([
      ["enterprise", "external"],
      ["plant-a", "internal"],
    ]);
    for (const z of zones) {
      expect(z.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      expect(z.admin_url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      for (const file of [z.ca, z.cert, z.key]) {
        expect(isAbsolute(file)).toBe(true);
        expect(existsSync(file)).toBe(true);
      }
      expect(z.cert).toContain(`${z.zone}-app`);
      expect(z.consumers).toEqual({
        operational: "operational-reader",
        audit: "audit-reader",
        documents: "documents-reader",
        telemetry: "telemetry-reader",
      });
      expect(existsSync(join(dir, z.zone, "bsfg.yaml"))).toBe(true);
      expect(existsSync(join(dir, z.zone, "jetstream"))).toBe(true);
    }
    caPem = readFileSync(zones[0]?.ca ?? "", "utf8");

    const servers = natsServersUnder(dir);
    expect(servers).toHaveLength(2);
    const out = first.stdout();
    for (const pid of servers) expect(out).toContain(`nats-server pid ${pid}`);
    expect(out).toContain(`npx bsfg append --dev ${devJson} --zone enterprise --to-zone plant-a`);
    expect(out).toContain(`npx bsfg fetch --dev ${devJson} --zone plant-a --consumer operational`);
    expect(out).toMatch(/\nready/);
  });

  it("carries a fact appended in enterprise to plant-a, where fetch, confirm and status use dev.json", async () => {
    const append = async (id: string) => {
      const result = await runBsfg([
        "append",
        ...dev("enterprise"),
        "--to-zone",
        "plant-a",
        "--subject",
        `order:${id}`,
        "--predicate",
        "order_created",
        "--object",
        `{"id": "${id}"}`,
        "--message-id",
        id,
        "--json",
      ]);
      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);
      return JSON.parse(result.stdout) as { offset: string; category: string };
    };
    expect(await append("dev-1")).toMatchObject({ category: "operational" });
    await append("dev-2");

    let fetched: FetchedFact[] = [];
    await eventually(
      async () => {
        fetched = (await fetchPlant()).facts;
        return fetched.length >= 2;
      },
      30_000,
      "both facts in plant-a's operational forward buffer",
    );
    expect(fetched.map((f) => f.envelope.message_id)).toEqual(["dev-1", "dev-2"]);
    expect(fetched[0]).toMatchObject({
      category: "operational",
      envelope: { from_zone: "enterprise", to_zone: "plant-a" },
      fact: { subject: "order:dev-1", predicate: "order_created", object_json: '{"id":"dev-1"}' },
    });
    expect(fetched[0]?.offset).toMatch(/^\d+$/);
    confirmedOffset = fetched[0]?.offset ?? "";

    const confirm = await runBsfg([
      "confirm",
      ...dev("plant-a"),
      "--consumer",
      "operational",
      "--offset",
      confirmedOffset,
      "--json",
    ]);
    expect(confirm.code).toBe(0);
    expect(JSON.parse(confirm.stdout)).toEqual({ consumer: "operational-reader", cursor: confirmedOffset });

    const status = await runBsfg(["status", ...dev("plant-a"), "--json"]);
    expect(status.code).toBe(0);
    const doc = JSON.parse(status.stdout) as {
      zone: string;
      gates: Record<string, { state: string }>;
      consumers: Array<{ name: string; cursor: number }>;
    };
    expect(doc.zone).toBe("plant-a");
    expect(Object.keys(doc.gates)).toEqual(["enterprise"]);
    expect(doc.consumers.find((c) => c.name === "operational-reader")?.cursor).toBe(Number(confirmedOffset));

    const noZone = await runBsfg(["status", "--dev", devJson, "--json"]);
    expect(noZone.code).toBe(1);
    expect(JSON.parse(noZone.stdout)).toEqual({
      error: { code: "error", message: `${devJson}: choose a zone with --zone (enterprise, plant-a)` },
    });
  });

  it("stops both nodes and both nats-servers on SIGINT and exits 0", async () => {
    expect(await stopWithSigint(first)).toBe(0);
    expect(first.stderr()).toBe("");
    expect(first.stdout()).toContain("\nstopped\n");
    expect(natsServersUnder(dir)).toEqual([]);
  });

  it("resumes the same data and PKI when started again on the same directory", async () => {
    // The old file names dead ports; waiting for the new one must not find it.
    await rm(devJson);
    const second = startDev();
    const zones = await waitUntilReady(second);
    expect(readFileSync(zones[0]?.ca ?? "", "utf8")).toBe(caPem);
    expect(second.stdout()).toContain("reusing the dev PKI");

    const { cursor, facts } = await fetchPlant();
    expect(cursor).toBe(confirmedOffset);
    expect(facts.map((f) => f.envelope.message_id)).toEqual(["dev-2"]);

    expect(await stopWithSigint(second)).toBe(0);
    expect(natsServersUnder(dir)).toEqual([]);
  });
});
