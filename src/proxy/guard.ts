/**
 * The guard seam: the one place every statement passes before it reaches a database.
 * Protocol-neutral; policy, approvals and audit (later issues) plug in here.
 */

/** Who is acting in a session, established at authentication. */
export interface SessionIdentity {
  readonly sessionId: string;
  readonly tokenId: string;
  readonly role: string;
  readonly upstream: string;
  readonly subject: string;
  readonly reason: string;
  readonly runId: string | null;
  readonly clientAddress: string;
  /** Epoch ms when the token stops being valid. */
  readonly expiresAt: number;
}

/** How a statement reached the gateway. */
export type StatementVia = 'simple-query' | 'parse' | 'execute' | 'function-call';

/** One statement as the guard sees it: its SQL text and how it arrived. */
export interface GuardStatement {
  readonly sql: string;
  readonly via: StatementVia;
}

/** A unit the client sent together: one simple Query, or one extended-protocol batch up to Sync/Flush. */
export interface GuardBatch {
  readonly statements: readonly GuardStatement[];
}

export type GuardVerdict =
  | { readonly action: 'allow' }
  | {
      readonly action: 'deny';
      /** What was refused and by which rule, shown to the agent. */
      readonly message: string;
      /** What the agent can do about it. */
      readonly hint: string;
    };

/** The guard of one session: decides each batch, may keep per-session state (e.g. SQL PREPARE names). */
export interface SessionGuard {
  /**
   * Settings the upstream session must start with (e.g. a pinned search_path, read-only transactions).
   * They are sent in the upstream StartupMessage, so RESET returns to them.
   */
  readonly upstreamParameters: Readonly<Record<string, string>>;
  /** Decides whether a batch may run. May answer synchronously (hot path) or asynchronously (approvals). */
  checkBatch(batch: GuardBatch): GuardVerdict | Promise<GuardVerdict>;
  /** The session ended. */
  close(): void;
}

/** Opens a SessionGuard for each authenticated session, before its upstream session is opened. */
export interface Guard {
  openSession(session: SessionIdentity): SessionGuard;
}

const ALLOW: GuardVerdict = Object.freeze({ action: 'allow' });
const ALLOW_ALL_SESSION: SessionGuard = Object.freeze({
  upstreamParameters: Object.freeze({}),
  checkBatch: () => ALLOW,
  close: () => {},
});

/**
 * Allows everything. Only for tests of the protocol layer and embedders that bring their own checks:
 * `airlock serve` and the demo always enforce the role policy.
 */
export const allowAllGuard: Guard = {
  openSession: () => ALLOW_ALL_SESSION,
};
