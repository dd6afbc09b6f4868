import type { ApprovalDecision, ApprovalRequest, ApprovalStatus } from '../approvals/approval-types.js';
import type { ChainedAuditEvent } from '../audit/audit-event.js';
import type { AuditSearchPage, AuditSearchQuery } from '../audit/audit-search.js';
import type { AuditCheckpoint } from '../audit/checkpoint.js';
import type { EncodedAuditEvent } from '../audit/hash-chain.js';

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

/** The last stored event of one instance's chain (seq 0 and hash null before the first event). */
export interface AuditHead {
  readonly seq: number;
  readonly hash: string | null;
  /** The seq of the newest stored checkpoint of the chain, 0 if none. */
  readonly checkpointSeq: number;
}

/** What an appendAudit builder returns: events that continue the head, and optionally a checkpoint. */
export interface AuditAppend {
  /** Events as objects, or already in canonical form (stored as given). */
  readonly events: readonly (ChainedAuditEvent | EncodedAuditEvent)[];
  readonly checkpoint?: AuditCheckpoint;
}

/** Which stored audit records to read. */
export interface ReadAuditOptions {
  /** One instance's chain; default every instance (each in seq order, instances by name). */
  readonly instance?: string;
  /** Only events (and checkpoints) with seq >= fromSeq. */
  readonly fromSeq?: number;
  /** Only events whose `at` is at or after this ISO 8601 time (checkpoints are all kept). */
  readonly since?: string;
  /** At most this many events, the lowest seqs first (pages through a long trail); checkpoints are not limited. */
  readonly limit?: number;
  /** Only checkpoints with seq >= this (default: every checkpoint, whatever fromSeq and since say). */
  readonly checkpointsFromSeq?: number;
}

/** Which approval requests to list: newest first. */
export interface ListApprovalsQuery {
  readonly status?: ApprovalStatus;
  /** Default 100, at most 1000. */
  readonly limit?: number;
}

/** What an updateApproval callback decides: its result, and optionally a decision to add and a final status. */
export interface ApprovalChange<T> {
  readonly result: T;
  /** A reviewer's decision to store (one per reviewer and request). */
  readonly decision?: ApprovalDecision;
  /** Ends the request (only a pending request changes status). */
  readonly finish?: {
    readonly status: Exclude<ApprovalStatus, 'pending'>;
    readonly at: number;
    readonly outcome: string;
  };
}

export interface Store {
  /**
   * Remembers a CI ID token (by `key`: its jti or its hash) until `expiresAt`; false when it was already
   * remembered and has not expired (a replay). Forgets expired entries as it goes.
   */
  rememberIdToken(key: string, expiresAt: number, now: number): Promise<boolean>;
  /** Revokes every live token of CI run `runId` at `at`; returns the ids it revoked. */
  revokeRun(runId: string, at: number): Promise<string[]>;
  insertApproval(request: ApprovalRequest): Promise<void>;
  getApproval(id: string): Promise<ApprovalRequest | undefined>;
  getApprovals(ids: readonly string[]): Promise<ApprovalRequest[]>;
  listApprovals(query?: ListApprovalsQuery): Promise<ApprovalRequest[]>;
  /**
   * Reads approval `id` and applies what `change` returns, in one write transaction that holds the lock,
   * so reviewers deciding through several processes never both win. Undefined when there is no such request.
   */
  updateApproval<T>(
    id: string,
    change: (request: ApprovalRequest) => ApprovalChange<T>,
  ): Promise<T | undefined>;
  /** Marks every pending request of `instance` abandoned (its sessions are gone); returns them. */
  abandonPendingApprovals(instance: string, at: number, outcome: string): Promise<ApprovalRequest[]>;
  /** An approved `scope: run` request for the same run, role and statements, if any. */
  findApprovedInRun(runId: string, role: string, scopeKey: string): Promise<ApprovalRequest | undefined>;
  insertToken(record: TokenRecord): Promise<void>;
  getToken(tokenId: string): Promise<TokenRecord | undefined>;
  listTokens(options?: ListTokensOptions): Promise<TokenRecord[]>;
  /** Marks a token revoked; returns false when no such token exists. Revoking twice keeps the first time. */
  revokeToken(tokenId: string, at: number): Promise<boolean>;
  /** The subset of the given ids that are revoked now (used by running sessions to end promptly). */
  revokedAmong(tokenIds: readonly string[]): Promise<Set<string>>;
  /**
   * Appends to the audit chain of `instance` in one durable transaction that holds the write lock
   * while it reads the head, so several processes may append to the same chain. `build` receives
   * the stored head and must return events that continue it; if `build` throws or the write fails,
   * nothing is stored and the promise rejects.
   */
  appendAudit(instance: string, build: (head: AuditHead) => AuditAppend): Promise<AuditAppend>;
  /**
   * Stored audit events in seq order, filtered by the options; checkpoints are those of the
   * instance(s) whatever fromSeq/since/limit say (so a partial read keeps the checkpoint that
   * anchors it), unless checkpointsFromSeq narrows them.
   */
  readAudit(
    options?: ReadAuditOptions,
  ): Promise<{ events: ChainedAuditEvent[]; checkpoints: AuditCheckpoint[] }>;
  /**
   * Stored audit events matching every filter of `query`, across instances, one page in the
   * query's order (time, then instance, then seq); nextCursor continues after the page's last event.
   */
  searchAudit(query: AuditSearchQuery): Promise<AuditSearchPage<ChainedAuditEvent>>;
  close(): Promise<void>;
}
