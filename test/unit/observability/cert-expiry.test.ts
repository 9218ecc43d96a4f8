import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { certExpirySeconds } from "../../../src/observability/cert-expiry.js";
import { createCertificateAuthority, issueCertificate } from "../../../src/pki/dev-pki.js";

const DAY = 86_400;
const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

describe("certExpirySeconds", () => {
  it("follows a rotated file (new content, new expiry) and reports an unreadable one as -Infinity", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bsfg-expiry-"));
    dirs.push(dir);
    const file = join(dir, "node.crt");
    const ca = await createCertificateAuthority({ commonName: "test CA" });
    const now = Date.now();
    await writeFile(
      file,
      (await issueCertificate(ca, { commonName: "n", validDays: 10, usage: "both" })).certPem,
    );
    const first = certExpirySeconds({ node: file }, now).get("node") as number;
    expect(Math.abs(first - 10 * DAY)).toBeLessThan(DAY);
    // Asked again with nothing changed: same answer (served from the parsed copy).
    expect(certExpirySeconds({ node: file }, now).get("node")).toBe(first);

    await writeFile(
      file,
      (await issueCertificate(ca, { commonName: "n", validDays: 300, usage: "both" })).certPem,
    );
    const rotated = certExpirySeconds({ node: file }, now).get("node") as number;
    expect(Math.abs(rotated - 300 * DAY)).toBeLessThan(DAY);

    await writeFile(file, "not a certificate");
    expect(certExpirySeconds({ node: file }, now).get("node")).toBe(Number.NEGATIVE_INFINITY);
    expect(certExpirySeconds({ gone: join(dir, "missing.crt") }, now).get("gone")).toBe(
      Number.NEGATIVE_INFINITY,
    );
  });
});
