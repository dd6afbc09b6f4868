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

/** Decides whether a batch may run. May answer synchronously (hot path) or asynchronously (approvals). */
export interface Guard {
  checkBatch(session: SessionIdentity, batch: GuardBatch): GuardVerdict | Promise<GuardVerdict>;
}

const ALLOW: GuardVerdict = Object.freeze({ action: 'allow' });

/** The foundation's guard: allows everything (policy arrives with the next issue). */
export const allowAllGuard: Guard = {
  checkBatch: () => ALLOW,
};
