import type { SessionResultMasking } from './result-masking.js';

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
  /** `address:port` of the agent's TCP connection. */
  readonly clientAddress: string;
  /** Epoch ms when the token stops being valid. */
  readonly expiresAt: number;
}

/** How a statement reached the gateway. */
export type StatementVia = 'simple-query' | 'parse' | 'execute' | 'function-call';

/** One statement as the guard sees it: its SQL text, how it arrived and, for Execute, its bound values. */
export interface GuardStatement {
  readonly sql: string;
  readonly via: StatementVia;
  /** Execute only: the parameter values bound to the portal (text, or `\x…` hex for binary; null for NULL). */
  readonly params?: readonly (string | null)[];
  /**
   * Present when a value in `params` was cut for the record: the hex SHA-256 of every bound value in
   * full (formats included), for whoever must tell two bindings apart exactly (approval run scope).
   */
  readonly paramsDigest?: string;
}

/** A unit the client sent together: one simple Query, or one extended-protocol batch up to Sync/Flush. */
export interface GuardBatch {
  readonly statements: readonly GuardStatement[];
}

/** One table a statement reads or changes, e.g. `{ table: 'public.orders', operation: 'update' }`. */
export interface TableAccess {
  readonly table: string;
  readonly operation: string;
}

/** What the guard decided about one statement, as the audit trail records it. */
export interface StatementDecision {
  readonly sql: string;
  readonly via: StatementVia;
  readonly decision: 'allow' | 'deny' | 'approve';
  /** The deny/approve rule that decided it, or the allow rules that granted its table accesses. */
  readonly rules: readonly string[];
  readonly accesses: readonly TableAccess[];
  readonly params?: readonly (string | null)[];
  /** The approval request a reviewer approved it under (decision `approve`). */
  readonly approvalId?: string;
}

/** How one statement sent upstream ended, in the order the upstream answered. */
export type StatementOutcome =
  | { readonly kind: 'complete'; readonly tag: string; readonly atMs: number }
  | { readonly kind: 'empty'; readonly atMs: number }
  | { readonly kind: 'suspended'; readonly atMs: number }
  | { readonly kind: 'error'; readonly sqlState: string; readonly atMs: number };

/** The upstream's answers to one allowed batch, reported once its ReadyForQuery arrived. */
export interface BatchResult {
  /** performance.now() when the batch was forwarded. */
  readonly forwardedAtMs: number;
  /** One per statement that ran, in order; the upstream skips what follows an error up to Sync. */
  readonly outcomes: readonly StatementOutcome[];
}

/**
 * What an allowed batch does, through SQL (PREPARE, DEALLOCATE, DISCARD ALL), to the prepared-statement
 * names the server shares with the extended protocol, so the protocol layer's view of them stays true.
 */
export type PreparedNameChange =
  | { readonly change: 'prepare'; readonly name: string; readonly sql: string }
  | { readonly change: 'deallocate'; readonly name: string }
  | { readonly change: 'deallocate-all' };

/** What the statements of an allowed (or approvable) batch carry to the relay and the audit. */
interface RunningBatch {
  /** SQL-level changes to prepared-statement names the batch makes once it runs. */
  readonly namesChanged?: readonly PreparedNameChange[];
  /** The statements of the batch that run upstream (a Parse alone runs nothing). */
  readonly statements?: readonly StatementDecision[];
  /** Called once with the upstream's answers, when the batch's ReadyForQuery has arrived. */
  readonly finished?: (result: BatchResult) => void;
}

/** Why a batch needs a person's approval, from the policy rule that said so. */
export interface ApprovalNeed {
  /** What needs approval and by which rule, e.g. `"delete" on public.orders requires human approval (…)`. */
  readonly reason: string;
  readonly rule: string;
  readonly hint: string;
  /** Called when the batch is approved and about to run (the session's SQL-level names take effect). */
  readonly onApproved?: () => void;
}

export type GuardVerdict =
  | ({ readonly action: 'allow' } & RunningBatch)
  /**
   * The batch may run once a person approves it (docs/approvals.md). Only the approval guard turns this
   * into `allow`; anything else that meets it refuses the batch (fail closed, see refuseUnapproved).
   */
  | ({ readonly action: 'approve'; readonly approval: ApprovalNeed } & RunningBatch)
  | {
      readonly action: 'deny';
      /** What was refused and by which rule, shown to the agent. */
      readonly message: string;
      /** What the agent can do about it. */
      readonly hint: string;
      /** SQLSTATE shown to the agent; default 42501 (insufficient_privilege). */
      readonly sqlState?: string;
      /** The statement that was refused, for the audit trail. */
      readonly statements?: readonly StatementDecision[];
    };

/** Why a batch that waits for its verdict is given up by the agent's side. */
export type WithdrawReason = 'cancelled' | 'disconnected' | 'session-ended';

/** A message for the agent while its batch waits (a NoticeResponse in PostgreSQL). */
export interface GuardNotice {
  readonly message: string;
  readonly detail?: string;
  readonly hint?: string;
}

/** What the session offers a guard that keeps a batch waiting (approvals): talk to the agent, hear it leave. */
export interface BatchContext {
  /** Sends the agent `notice` now (at the next message boundary), while the batch waits. */
  notice(notice: GuardNotice): void;
  /**
   * Calls `listener` once if, before the verdict, the agent cancels the batch (CancelRequest), disconnects,
   * or the session ends; returns a function that removes the listener.
   */
  onWithdrawn(listener: (why: WithdrawReason) => void): () => void;
}

/** The guard of one session: decides each batch, may keep per-session state (e.g. SQL PREPARE names). */
export interface SessionGuard {
  /** The session's result masking, when its role masks anything; the engine applies it to every result. */
  readonly resultMasking?: SessionResultMasking;
  /**
   * Settings the upstream session must start with (e.g. a pinned search_path, read-only transactions).
   * They are sent in the upstream StartupMessage, so RESET returns to them.
   */
  readonly upstreamParameters: Readonly<Record<string, string>>;
  /** Decides whether a batch may run. May answer synchronously (hot path) or asynchronously (approvals). */
  checkBatch(batch: GuardBatch, context?: BatchContext): GuardVerdict | Promise<GuardVerdict>;
  /** The session ended. */
  close(): void;
}

/** Opens a SessionGuard for each authenticated session, before its upstream session is opened. */
export interface Guard {
  openSession(session: SessionIdentity): SessionGuard;
}

/** Applies `next` to a verdict that may still be pending, staying synchronous when it is not (guard decorators). */
export function thenVerdict(
  verdict: GuardVerdict | Promise<GuardVerdict>,
  next: (verdict: GuardVerdict) => GuardVerdict | Promise<GuardVerdict>,
): GuardVerdict | Promise<GuardVerdict> {
  return verdict instanceof Promise ? verdict.then(next) : next(verdict);
}

/** A verdict under which the batch runs, now or once approved. */
export type RunningVerdict = Exclude<GuardVerdict, { readonly action: 'deny' }>;

/** A verdict that still needs approval where no approval service can give it: refused, saying why. */
export function refuseUnapproved(
  verdict: GuardVerdict & { action: 'approve' },
): GuardVerdict & { action: 'deny' } {
  return {
    action: 'deny',
    message: `airlock policy: ${verdict.approval.reason}; this gateway has no approval service, so it is refused`,
    hint: verdict.approval.hint,
    ...(verdict.statements === undefined
      ? {}
      : { statements: verdict.statements.map((s) => ({ ...s, decision: 'deny' as const })) }),
  };
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
