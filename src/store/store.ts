/** The persistence boundary: every durable fact (tokens now; audit and approvals later) goes through a Store. */

/** SCRAM-SHA-256 verifier kept instead of the token secret (RFC 5802 / RFC 7677). */
export interface ScramVerifier {
  readonly iterations: number;
  /** base64 */
  readonly salt: string;
  /** base64 */
  readonly storedKey: string;
  /** base64 */
  readonly serverKey: string;
}

/** A short-lived agent credential, as stored. The secret itself is never stored. */
export interface TokenRecord {
  readonly tokenId: string;
  readonly role: string;
  /** The upstream this token may reach (the role's upstream at issue time). */
  readonly upstream: string;
  /** Who the token is for, e.g. "github:acme/shop:ci.yml" or "alice@example.com". */
  readonly subject: string;
  /** Why it exists, e.g. "PR #42: fix order totals". */
  readonly reason: string;
  readonly runId: string | null;
  /** Epoch milliseconds. */
  readonly issuedAt: number;
  readonly expiresAt: number;
  readonly revokedAt: number | null;
  readonly verifier: ScramVerifier;
}

export interface ListTokensOptions {
  /** Include expired and revoked tokens (default: only live ones). */
  readonly includeInactive?: boolean;
  /** Clock for "live" (epoch ms); defaults to Date.now(). */
  readonly now?: number;
}

export interface Store {
  insertToken(record: TokenRecord): Promise<void>;
  getToken(tokenId: string): Promise<TokenRecord | undefined>;
  listTokens(options?: ListTokensOptions): Promise<TokenRecord[]>;
  /** Marks a token revoked; returns false when no such token exists. Revoking twice keeps the first time. */
  revokeToken(tokenId: string, at: number): Promise<boolean>;
  /** The subset of the given ids that are revoked now (used by running sessions to end promptly). */
  revokedAmong(tokenIds: readonly string[]): Promise<Set<string>>;
  close(): Promise<void>;
}
