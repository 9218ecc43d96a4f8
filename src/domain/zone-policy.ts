/** A peer zone as the authorization and routing rules see it. */
export interface PeerPolicy {
  readonly zone: string;
  /** The certificate identity the peer's node must present. */
  readonly identity: string;
  /** Categories of ours the peer may fetch. */
  readonly exports: ReadonlySet<string>;
  /** Categories of the peer's we pull into our forward buffers. */
  readonly imports: ReadonlySet<string>;
}

/** What a principal (client certificate identity) may do. `*` grants every category. */
export interface PrincipalRights {
  readonly append: ReadonlySet<string>;
}

export interface ZonePolicy {
  readonly zone: string;
  readonly categories: ReadonlySet<string>;
  readonly defaultCategory: string;
  /** subject kind → category. */
  readonly categoryRules: ReadonlyMap<string, string>;
  readonly peers: ReadonlyMap<string, PeerPolicy>;
  readonly principals: ReadonlyMap<string, PrincipalRights>;
}

export function resolveCategory(policy: ZonePolicy, requested: string, subjectKind: string): string {
  if (requested !== "") return requested;
  return policy.categoryRules.get(subjectKind) ?? policy.defaultCategory;
}

/** Deny by default: unknown principals and unlisted categories get nothing. */
export function mayAppend(policy: ZonePolicy, principal: string, category: string): boolean {
  const rights = policy.principals.get(principal);
  if (rights === undefined) return false;
  return rights.append.has("*") || rights.append.has(category);
}
