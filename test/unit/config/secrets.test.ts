import { describe, expect, it } from "vitest";
import { parseConfig } from "../../../src/config/load.js";

const config = (nats: string) => `
zone: plant-a
role: internal
tls: { ca: /ca.pem, cert: /c.pem, key: /k.pem }
nats: ${nats}
`;

describe("secrets in the config text", () => {
  it("refuses credentials in a NATS server URL without echoing them", () => {
    const result = parseConfig(config("{ servers: [nats://bsfg:s3cr3t-value@10.0.0.5:4222] }"), {});
    if (result.ok) throw new Error("expected problems");
    expect(result.problems).toEqual([
      "nats.servers.0: must not carry credentials; use nats.user with nats.password_file, or nats.token_file",
    ]);
    expect(result.problems.join("\n")).not.toContain("s3cr3t-value");
  });

  it("refuses an inline password, naming the key but not the value", () => {
    const result = parseConfig(
      config("{ servers: [nats://10.0.0.5:4222], user: bsfg, password: s3cr3t-value }"),
      {
        BSFG__NATS__TOKEN: "t0ken-value",
      },
    );
    if (result.ok) throw new Error("expected problems");
    const text = result.problems.join("\n");
    expect(text).toMatch(/^nats: Unrecognized keys?: .*"password"/m);
    expect(text).toMatch(/"token"/);
    expect(text).not.toContain("s3cr3t-value");
    expect(text).not.toContain("t0ken-value");
  });
});
