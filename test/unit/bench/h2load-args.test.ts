import { describe, expect, it } from "vitest";
import { parseH2loadArgs } from "../../../bench/h2load.js";

describe("npm run bench -- h2load flags", () => {
  it("default to the README's command and write the tracked results file", () => {
    expect(parseH2loadArgs([])).toEqual({
      requests: 20_000,
      clients: 4,
      streams: 64,
      batch: 250,
      batchRequests: 400,
      json: "bench/results/h2load.json",
    });
  });

  it("take every count and a results file of the caller's", () => {
    expect(
      parseH2loadArgs([
        "--requests",
        "4000",
        "--batch-requests",
        "200",
        "--streams",
        "8",
        "--json",
        "/tmp/h.json",
      ]),
    ).toMatchObject({ requests: 4000, batchRequests: 200, streams: 8, json: "/tmp/h.json" });
  });

  it("refuse an unknown flag, a missing value and a count that is not a positive integer", () => {
    expect(() => parseH2loadArgs(["--reqests", "10"])).toThrow(/unknown argument --reqests/);
    expect(() => parseH2loadArgs(["--json"])).toThrow(/--json needs a value/);
    for (const bad of ["0", "-3", "1.5", "ten"])
      expect(() => parseH2loadArgs(["--clients", bad])).toThrow(/--clients must be a positive integer/);
  });
});
