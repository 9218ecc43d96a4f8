import { describe, expect, it } from "vitest";
import {
  type Artifact,
  checkArtifact,
  checkConflict,
  checkConsumerEnd,
  checkFetch,
  checkMetrics,
  checkRedelivery,
} from "../../../torture/checks.js";
import {
  type AppendSpec,
  type HandoffSnapshot,
  Ledger,
  problems,
  type StoredRecord,
} from "../../fixtures/handoff-truth.js";

// The campaign reports "0 violations" only if its checks can see a violation.
// Each case below starts from a consistent ground truth (which must pass) and
// plants one bug of the kind the suite exists to catch.

const ZONES = ["enterprise", "plant-a"] as const;
const CATEGORIES = ["operational"] as const;
const TRANSIENT = new Set(["unavailable", "deadline_exceeded"]);

const spec = (from: string, n: number): AppendSpec => ({
  from,
  to: from === "enterprise" ? "plant-a" : "enterprise",
  category: "operational",
  id: `${from}-${n}`,
});

const stored = (s: AppendSpec, seq: number): StoredRecord => ({
  seq,
  subject: `facts.operational.${s.to}.order`,
  messageId: s.id,
  fromZone: s.from,
  toZone: s.to,
  category: s.category,
});

const forwarded = (s: AppendSpec, seq: number, sourceOffset: number): StoredRecord => ({
  ...stored(s, seq),
  subject: `forward.operational.${s.from}`,
  source: { zone: s.from, offset: sourceOffset },
});

/**
 * Four facts enterprise→plant-a and two plant-a→enterprise, every one
 * acknowledged at its offset, delivered once in order, source cursors at the end.
 */
function consistent(): { snap: HandoffSnapshot; ledger: Ledger; e: AppendSpec[]; p: AppendSpec[] } {
  const ledger = new Ledger();
  const e = [1, 2, 3, 4].map((n) => spec("enterprise", n));
  const p = [1, 2].map((n) => spec("plant-a", n));
  for (const [i, s] of [...e.entries(), ...p.entries()]) {
    ledger.request(s);
    ledger.record(s, { ok: true, offset: i + 1, duplicate: false });
  }
  const snap: HandoffSnapshot = {
    store: new Map([
      ["enterprise", new Map([["operational", e.map((s, i) => stored(s, i + 1))]])],
      ["plant-a", new Map([["operational", p.map((s, i) => stored(s, i + 1))]])],
    ]),
    forward: new Map([
      ["plant-a", new Map([["operational", e.map((s, i) => forwarded(s, i + 1, i + 1))]])],
      ["enterprise", new Map([["operational", p.map((s, i) => forwarded(s, i + 1, i + 1))]])],
    ]),
    cursors: new Map([
      ["enterprise>plant-a/operational", 4],
      ["plant-a>enterprise/operational", 2],
    ]),
  };
  return { snap, ledger, e, p };
}

const forwardOf = (snap: HandoffSnapshot, zone: string) =>
  snap.forward.get(zone)?.get("operational") as StoredRecord[];
const storeOf = (snap: HandoffSnapshot, zone: string) =>
  snap.store.get(zone)?.get("operational") as StoredRecord[];
const check = (snap: HandoffSnapshot, ledger: Ledger) => problems(snap, ledger, ZONES, CATEGORIES, true);

describe("handoff ground truth (what verifyDrained checks after the drain)", () => {
  it("finds nothing wrong with a consistent ground truth", () => {
    const { snap, ledger } = consistent();
    expect(check(snap, ledger)).toEqual([]);
  });

  it("reports a fact lost on its way to the destination, naming its message id", () => {
    const { snap, ledger } = consistent();
    const forward = forwardOf(snap, "plant-a");
    forward.splice(2, 1); // enterprise-3 never arrived
    expect(check(snap, ledger)).toEqual([
      expect.stringMatching(
        /^LOST: 1 of 4 facts enterprise→plant-a operational missing, e\.g\. enterprise-3@3$/,
      ),
    ]);
  });

  it("reports an acknowledged append missing from the source store buffer", () => {
    const { snap, ledger } = consistent();
    storeOf(snap, "plant-a").pop();
    forwardOf(snap, "enterprise").pop();
    expect(check(snap, ledger)).toContainEqual("LOST at source: plant-a-2 acknowledged at offset 2");
  });

  it("reports a fact delivered twice", () => {
    const { snap, ledger, e } = consistent();
    forwardOf(snap, "plant-a").push(forwarded(e[1] as AppendSpec, 5, 2));
    expect(check(snap, ledger)).toContainEqual(expect.stringMatching(/^DUPLICATE: enterprise-2 at plant-a/));
  });

  it("reports a fact stored twice in the source store buffer", () => {
    const { snap, ledger, e } = consistent();
    storeOf(snap, "enterprise").push(stored(e[0] as AppendSpec, 5));
    expect(check(snap, ledger)).toContainEqual(
      "store duplicate: enterprise-1 at enterprise facts_operational@5 and @1",
    );
  });

  it("reports an out-of-order pair in a forward buffer, naming the message id", () => {
    const { snap, ledger, e } = consistent();
    const forward = forwardOf(snap, "plant-a");
    forward[2] = forwarded(e[3] as AppendSpec, 3, 4);
    forward[3] = forwarded(e[2] as AppendSpec, 4, 3);
    expect(check(snap, ledger)).toEqual([
      "ORDER: plant-a forward_operational@4: enterprise-3 (source offset 3 from enterprise) after source offset 4",
    ]);
  });

  it("reports a source cursor that regressed below facts it had confirmed", () => {
    const { snap, ledger } = consistent();
    snap.cursors.set("enterprise>plant-a/operational", 2);
    expect(check(snap, ledger)).toEqual(["enterprise cursor of peer.plant-a.operational is 2, last fact 4"]);
  });

  it("reports a fact stored at another offset than the producer was told", () => {
    const { snap, ledger } = consistent();
    const store = storeOf(snap, "plant-a");
    store.reverse();
    store.forEach((r, i) => {
      store[i] = { ...r, seq: i + 1 };
    });
    expect(check(snap, ledger)).toContainEqual("plant-a-1: acknowledged offset 1, stored at 2");
  });

  it("reports a fact delivered to a zone it was not addressed to", () => {
    const { snap, ledger, p } = consistent();
    forwardOf(snap, "plant-a").push(forwarded(p[0] as AppendSpec, 5, 1));
    expect(check(snap, ledger)).toContainEqual(
      expect.stringMatching(
        /^MISROUTED: plant-a forward_operational@5: plant-a-1 is addressed to enterprise$/,
      ),
    );
  });

  it("reports an identical retry answered with a different offset", () => {
    const { snap, ledger, e } = consistent();
    ledger.record(e[0] as AppendSpec, { ok: true, offset: 9, duplicate: true });
    expect(check(snap, ledger)).toEqual([
      "enterprise-1: acknowledged at offset 1, a retry answered offset 9 duplicate=true",
    ]);
  });
});

describe("consumer checks", () => {
  const seen = new Map([
    [1, "a"],
    [2, "b"],
    [3, "c"],
  ]);

  it("accept a fetch that continues from the confirmed cursor and count redeliveries", () => {
    const r = checkFetch("z/c", { confirmed: 1, pendingConfirm: undefined, seen }, 1, [
      { offset: 2, id: "b" },
      { offset: 3, id: "c" },
      { offset: 4, id: "d" },
    ]);
    expect(r).toEqual({ violations: [], redelivered: 2 });
  });

  it("report a consumer cursor that regressed", () => {
    const r = checkFetch("z/c", { confirmed: 3, pendingConfirm: undefined, seen }, 1, []);
    expect(r.violations).toEqual(["CURSOR REGRESSED: z/c cursor 1 after confirming 3"]);
  });

  it("report a cursor that moved without a confirm", () => {
    const r = checkFetch("z/c", { confirmed: 1, pendingConfirm: undefined, seen }, 3, []);
    expect(r.violations).toEqual(["CURSOR SKIPPED: z/c cursor 3, confirmed 1, pending confirm undefined"]);
    // A confirm that was in flight may have landed.
    expect(checkFetch("z/c", { confirmed: 1, pendingConfirm: 3, seen }, 3, []).violations).toEqual([]);
  });

  it("report a fetch that skips an offset or changes a fact", () => {
    const r = checkFetch("z/c", { confirmed: 1, pendingConfirm: undefined, seen }, 1, [
      { offset: 2, id: "b" },
      { offset: 4, id: "d" },
    ]);
    expect(r.violations).toEqual(["FETCH GAP: z/c fetch after 1 returned offset 4 at position 1 (d)"]);
    const changed = checkFetch("z/c", { confirmed: 1, pendingConfirm: undefined, seen }, 1, [
      { offset: 2, id: "x" },
    ]);
    expect(changed.violations).toEqual(["FETCH CHANGED: z/c offset 2 was b, now x"]);
  });

  it("report facts dropped in a crash that did not come back first", () => {
    const dropped = [
      { offset: 4, id: "d" },
      { offset: 5, id: "e" },
    ];
    expect(checkRedelivery("z/c", dropped, [...dropped, { offset: 6, id: "f" }])).toBeUndefined();
    expect(checkRedelivery("z/c", dropped, [{ offset: 5, id: "e" }])).toBe(
      "NOT REDELIVERED: z/c dropped d@4 in a crash, the next fetch returned e@5",
    );
  });

  it("report a consumer that never saw a fact or did not confirm to the end", () => {
    const records = ["a", "b", "c", "d"].map(
      (id, i): StoredRecord => ({
        seq: i + 1,
        subject: "forward.operational.x",
        messageId: id,
        fromZone: "x",
        toZone: "z",
        category: "operational",
      }),
    );
    expect(checkConsumerEnd("z/c", new Map([...seen, [4, "d"]]), 4, records)).toEqual([]);
    expect(checkConsumerEnd("z/c", seen, 3, records)).toEqual([
      "CONSUMER: z/c confirmed 3, buffer ends at 4",
      "CONSUMER: z/c never saw 1 facts, e.g. d@4 (saw undefined)",
    ]);
  });
});

describe("conflicting retries", () => {
  it("count already_exists naming the original offset as rejected", () => {
    expect(
      checkConflict("m", 7, { code: "already_exists", message: "", existingOffset: 7 }, TRANSIENT),
    ).toEqual({
      verdict: "rejected",
    });
  });

  it("report a conflicting retry that was accepted", () => {
    const r = checkConflict("m", 7, { accepted: { offset: 7, duplicate: true } }, TRANSIENT);
    expect(r).toEqual({
      verdict: "violation",
      violation:
        "CONFLICT ACCEPTED: m with different content answered offset 7 duplicate=true (original offset 7)",
    });
  });

  it("report already_exists naming another offset, and any other refusal", () => {
    expect(
      checkConflict("m", 7, { code: "already_exists", message: "", existingOffset: 8 }, TRANSIENT).violation,
    ).toBe("CONFLICT: m already_exists names offset 8, acknowledged at 7");
    expect(checkConflict("m", 7, { code: "invalid_argument", message: "bad" }, TRANSIENT).verdict).toBe(
      "violation",
    );
    expect(checkConflict("m", 7, { code: "unavailable", message: "down" }, TRANSIENT).verdict).toBe(
      "inconclusive",
    );
  });
});

describe("artifacts", () => {
  const artifact: Artifact = {
    id: "a1",
    from: "enterprise",
    to: "plant-a",
    key: "k",
    digest: "sha256:aa",
    size: 10,
  };

  it("accept a byte-exact copy", () => {
    expect(checkArtifact(artifact, { infoDigest: "sha256:aa", digest: "sha256:aa", size: 10 })).toEqual([]);
  });

  it("report a copy with the wrong digest, whether in its bytes or its info", () => {
    expect(checkArtifact(artifact, { infoDigest: "sha256:aa", digest: "sha256:bb", size: 10 })).toEqual([
      "ARTIFACT: a1 k in plant-a: 10 bytes sha256:bb, want 10 bytes sha256:aa",
    ]);
    expect(checkArtifact(artifact, { infoDigest: "sha256:bb", digest: "sha256:aa", size: 10 })).toEqual([
      "ARTIFACT: a1 k in plant-a has info digest sha256:bb, want sha256:aa",
    ]);
    expect(checkArtifact(artifact, { infoDigest: undefined, digest: "sha256:aa", size: 9 })).toHaveLength(1);
  });
});

describe("metrics against the ground truth", () => {
  const want = new Map([
    ["bsfg_backlog_facts|operational-reader", 0],
    ["bsfg_replication_lag_high_watermark|enterprise/operational", 4],
  ]);
  const exposition = (backlog: number, hwm: number) =>
    [
      "# TYPE bsfg_backlog_facts gauge",
      `bsfg_backlog_facts{consumer="operational-reader",category="operational"} ${backlog}`,
      `bsfg_replication_lag_high_watermark{peer="enterprise",category="operational"} ${hwm}`,
    ].join("\n");

  it("accept metrics equal to the ground truth", () => {
    expect(checkMetrics("plant-a", exposition(0, 4), want)).toEqual([]);
  });

  it("report a backlog or high-water mark that disagrees", () => {
    expect(checkMetrics("plant-a", exposition(3, 2), want)).toEqual([
      "plant-a bsfg_backlog_facts{operational-reader} = 3, ground truth 0",
      "plant-a bsfg_replication_lag_high_watermark{enterprise/operational} = 2, ground truth 4",
    ]);
  });
});
