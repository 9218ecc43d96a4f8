/** Transport metadata of a fact, in domain form (see proto bsfg.v1.Envelope). */
export interface Envelope {
  readonly messageId: string;
  readonly fromZone: string;
  readonly toZone: string;
  readonly producedAtUnixMs: number;
  readonly correlationId: string;
  readonly causationId: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly objectMediaType: string;
  readonly objectSchema: string;
}

export interface Fact {
  readonly subject: string;
  readonly predicate: string;
  /** RFC 8785 canonical JSON once validated. */
  readonly objectJson: string;
}

/** What a producer asks to append, before validation. */
export interface AppendRequest {
  readonly envelope: Envelope | undefined;
  readonly fact: Fact | undefined;
  /** Empty means "pick from the category rules". */
  readonly category: string;
}

/** A validated fact ready to be stored: canonical content plus its digest. */
export interface FactRecord {
  readonly category: string;
  /** The lower-case kind of `fact.subject`, used for routing subjects. */
  readonly subjectKind: string;
  readonly envelope: Envelope;
  readonly fact: Fact;
  /** `sha256:<hex>` of the canonical content; what idempotency compares. */
  readonly digest: string;
  readonly storedAtUnixMs: number;
}

export interface StoredFact extends FactRecord {
  readonly offset: number;
}

export interface AppendResult {
  readonly offset: number;
  readonly category: string;
  readonly duplicate: boolean;
}
