import type { StoredRecord } from "../test/fixtures/handoff-truth.js";

// The campaign's verdicts as pure functions of what was observed, so each one
// can be shown to fire on tampered input (test/unit/torture/torture-checks.test.ts)
// without running a campaign. Cross-zone ground truth (lost, duplicated,
// reordered facts, source cursors) is `problems` in test/fixtures/handoff-truth.ts.

/** A fact as a consumer fetched it. */
export interface Fetched {
  readonly offset: number;
  readonly id: string;
}

/** What a consumer knew before a fetch. */
export interface ConsumerState {
  /** Highest cursor the node has confirmed to this consumer. */
  readonly confirmed: number;
  /** A confirm that was sent but not answered (the cursor may or may not have moved to it). */
  readonly pendingConfirm: number | undefined;
  /** offset → message_id of everything fetched before. */
  readonly seen: ReadonlyMap<number, string>;
}

/**
 * One FetchFacts answer against the consumer's history: the cursor never goes
 * back and only moves to a confirmed offset, facts continue right after it,
 * and an offset never changes its fact. `redelivered` counts facts seen before.
 */
export function checkFetch(
  where: string,
  before: ConsumerState,
  cursor: number,
  facts: readonly Fetched[],
): { violations: string[]; redelivered: number } {
  const violations: string[] = [];
  let redelivered = 0;
  if (cursor < before.confirmed)
    violations.push(`CURSOR REGRESSED: ${where} cursor ${cursor} after confirming ${before.confirmed}`);
  else if (cursor !== before.confirmed && cursor !== before.pendingConfirm)
    violations.push(
      `CURSOR SKIPPED: ${where} cursor ${cursor}, confirmed ${before.confirmed}, pending confirm ${before.pendingConfirm}`,
    );
  facts.forEach((f, i) => {
    if (f.offset !== cursor + i + 1)
      violations.push(
        `FETCH GAP: ${where} fetch after ${cursor} returned offset ${f.offset} at position ${i} (${f.id})`,
      );
    const earlier = before.seen.get(f.offset);
    if (earlier !== undefined && earlier !== f.id)
      violations.push(`FETCH CHANGED: ${where} offset ${f.offset} was ${earlier}, now ${f.id}`);
    else if (earlier !== undefined) redelivered++;
  });
  return { violations, redelivered };
}

/** After a crash between fetch and confirm, the next non-empty fetch starts with the dropped facts. */
export function checkRedelivery(
  where: string,
  dropped: readonly Fetched[],
  facts: readonly Fetched[],
): string | undefined {
  const n = Math.min(dropped.length, facts.length);
  for (let i = 0; i < n; i++) {
    const d = dropped[i] as Fetched;
    const f = facts[i] as Fetched;
    if (d.offset !== f.offset || d.id !== f.id)
      return `NOT REDELIVERED: ${where} dropped ${d.id}@${d.offset} in a crash, the next fetch returned ${f.id}@${f.offset}`;
  }
  return undefined;
}

/** A consumer driven to the end: confirmed the whole forward buffer and saw each fact at its offset. */
export function checkConsumerEnd(
  key: string,
  seen: ReadonlyMap<number, string>,
  confirmed: number,
  records: readonly StoredRecord[],
): string[] {
  const out: string[] = [];
  const last = records.at(-1)?.seq ?? 0;
  if (confirmed < last) out.push(`CONSUMER: ${key} confirmed ${confirmed}, buffer ends at ${last}`);
  const missing = records.filter((r) => seen.get(r.seq) !== r.messageId);
  if (missing.length > 0)
    out.push(
      `CONSUMER: ${key} never saw ${missing.length} facts, e.g. ${missing
        .slice(0, 5)
        .map((r) => `${r.messageId}@${r.seq} (saw ${seen.get(r.seq)})`)
        .join(", ")}`,
    );
  return out;
}

/** How the node answered an append that reused an acknowledged message_id with different content. */
export type ConflictAnswer =
  | { readonly accepted: { readonly offset: number; readonly duplicate: boolean } }
  | { readonly code: string; readonly message: string; readonly existingOffset?: number };

/**
 * A conflicting retry must be refused `already_exists` naming the original
 * offset; a transient error says nothing either way.
 */
export function checkConflict(
  id: string,
  ackedOffset: number | undefined,
  answer: ConflictAnswer,
  transient: ReadonlySet<string>,
): { verdict: "rejected" | "inconclusive" | "violation"; violation?: string } {
  if ("accepted" in answer)
    return {
      verdict: "violation",
      violation: `CONFLICT ACCEPTED: ${id} with different content answered offset ${answer.accepted.offset} duplicate=${answer.accepted.duplicate} (original offset ${ackedOffset})`,
    };
  if (answer.code === "already_exists") {
    if (answer.existingOffset !== undefined && answer.existingOffset !== ackedOffset)
      return {
        verdict: "violation",
        violation: `CONFLICT: ${id} already_exists names offset ${answer.existingOffset}, acknowledged at ${ackedOffset}`,
      };
    return { verdict: "rejected" };
  }
  if (transient.has(answer.code)) return { verdict: "inconclusive" };
  return {
    verdict: "violation",
    violation: `CONFLICT: ${id} with different content answered [${answer.code}] ${answer.message}`,
  };
}

export interface Artifact {
  readonly id: string;
  readonly from: string;
  readonly to: string;
  readonly key: string;
  readonly digest: string;
  readonly size: number;
}

/** What GetObject streamed from the destination: the info's digest and the bytes' own digest and size. */
export interface ArtifactCopy {
  readonly infoDigest: string | undefined;
  readonly digest: string;
  readonly size: number;
}

/** The destination's copy of a delivered artifact is byte-exact. */
export function checkArtifact(a: Artifact, copy: ArtifactCopy): string[] {
  const out: string[] = [];
  if (copy.infoDigest !== undefined && copy.infoDigest !== a.digest)
    out.push(`ARTIFACT: ${a.id} ${a.key} in ${a.to} has info digest ${copy.infoDigest}, want ${a.digest}`);
  if (copy.digest !== a.digest || copy.size !== a.size)
    out.push(
      `ARTIFACT: ${a.id} ${a.key} in ${a.to}: ${copy.size} bytes ${copy.digest}, want ${a.size} bytes ${a.digest}`,
    );
  return out;
}

/** `name{labels} value` lines of a Prometheus exposition, for one metric. */
export function metricValues(
  text: string,
  name: string,
): Array<{ labels: Record<string, string>; value: number }> {
  const out: Array<{ labels: Record<string, string>; value: number }> = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`)) continue;
    const m = /^[^{]+\{(.*)\}\s+(\S+)$/.exec(line);
    if (m === null) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[1] ?? "").matchAll(/(\w+)="([^"]*)"/g)) labels[l[1] as string] = l[2] as string;
    out.push({ labels, value: Number(m[2]) });
  }
  return out;
}

/**
 * A zone's /metrics against the ground truth. `want` keys are
 * `bsfg_backlog_facts|<consumer>` or `bsfg_replication_lag_high_watermark|<peer>/<category>`.
 */
export function checkMetrics(zone: string, text: string, want: ReadonlyMap<string, number>): string[] {
  const out: string[] = [];
  const backlog = metricValues(text, "bsfg_backlog_facts");
  const hwm = metricValues(text, "bsfg_replication_lag_high_watermark");
  for (const [k, v] of want) {
    const [metric, label] = k.split("|") as [string, string];
    let got: number | undefined;
    if (metric === "bsfg_backlog_facts") got = backlog.find((m) => m.labels.consumer === label)?.value;
    else {
      const [p, c] = label.split("/");
      got = hwm.find((m) => m.labels.peer === p && m.labels.category === c)?.value;
      // A peer nothing was imported from may not have the series yet.
      if (got === undefined && v === 0) got = 0;
    }
    if (got !== v) out.push(`${zone} ${metric}{${label}} = ${got}, ground truth ${v}`);
  }
  return out;
}
