import { X509Certificate } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runBsfg } from "../fixtures/spawn-bsfg.js";

describe("bsfg certs", () => {
  it("creates a CA once and re-issues certificates from it (rotation)", async () => {
    const out = await mkdtemp(join(tmpdir(), "bsfg-certs-"));
    const first = await runBsfg([
      "certs",
      "--out",
      out,
      "--server",
      "enterprise-bsfg",
      "--client",
      "erp",
      "--json",
    ]);
    expect(first.code).toBe(0);
    const caBefore = readFileSync(join(out, "ca.pem"), "utf8");
    const nodeBefore = new X509Certificate(readFileSync(join(out, "enterprise-bsfg.pem")));
    expect(statSync(join(out, "enterprise-bsfg-key.pem")).mode & 0o777).toBe(0o600);
    expect(statSync(join(out, "ca-key.pem")).mode & 0o777).toBe(0o600);

    const second = await runBsfg(["certs", "--out", out, "--server", "enterprise-bsfg"]);
    expect(second.code).toBe(0);
    const ca = new X509Certificate(readFileSync(join(out, "ca.pem")));
    const nodeAfter = new X509Certificate(readFileSync(join(out, "enterprise-bsfg.pem")));
    expect(readFileSync(join(out, "ca.pem"), "utf8")).toBe(caBefore);
    expect(nodeAfter.serialNumber).not.toBe(nodeBefore.serialNumber);
    expect(nodeAfter.subject).toBe("CN=enterprise-bsfg");
    expect(nodeAfter.verify(ca.publicKey)).toBe(true);
    expect(nodeAfter.checkIssued(ca)).toBe(true);
    expect(new X509Certificate(readFileSync(join(out, "erp.pem"))).verify(ca.publicKey)).toBe(true);
  });
});
