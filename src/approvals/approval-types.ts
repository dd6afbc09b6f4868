/** The approval vocabulary shared by the guard, the store, the API, the CLI and the notifiers. Pure data. */

/** Where a request stands. Only `pending` changes; every other status is final. */
export type ApprovalStatus =
  /** Waiting for reviewers. */
  | 'pending'
  /** Enough distinct reviewers approved; the held statement ran (or was about to). */
  | 'approved'
  /** A reviewer denied it; the statement did not run. */
  | 'denied'
  /** Nobody decided within the role's timeout; the statement did not run. */
  | 'expired'
  /** The agent cancelled the statement or disconnected while it waited; it did not run. */
  | 'withdrawn'
  /** The gateway restarted (or the session died) while it waited; it never runs. */
  | 'abandoned';

export const APPROVAL_STATUSES: readonly ApprovalStatus[] = [
  'pending',
  'approved',
  'denied',
  'expired',
  'withdrawn',
  'abandoned',
];

/** One held statement: its text and, for an extended-protocol Execute, the values bound to it. */
export interface HeldStatement {
  readonly sql: string;
  readonly via: string;
  /** Bound values as recorded for audit (masked where the role masks them); absent for simple queries. */
  readonly params?: readonly (string | null)[];
}

/** One reviewer's decision on a request. */
export interface ApprovalDecision {
  readonly reviewer: string;
  readonly verdict: 'approve' | 'deny';
  readonly reason: string;
  /** Epoch ms. */
  readonly at: number;
}

/** How many rows a held DELETE/UPDATE would touch, computed without side effects. */
export interface BlastRadius {
  /** The planner's estimate (EXPLAIN), summed over the held statements it could estimate. */
  readonly estimatedRows: number;
  readonly method: 'explain';
}

/** An approval request as stored and as shown to reviewers. */
export interface ApprovalRequest {
  /** e.g. `apr_7k2m9q4x8c3v5b6n`: what reviewers type and what the agent's notice names. */
  readonly id: string;
  /** The gateway instance whose session holds the statement. */
  readonly instance: string;
  readonly sessionId: string;
  readonly tokenId: string;
  readonly role: string;
  readonly upstream: string;
  /** The token's subject and reason: who asks, and why. */
  readonly subject: string;
  readonly reason: string;
  readonly runId: string | null;
  readonly statements: readonly HeldStatement[];
  /** The policy rule that asked for approval, e.g. `roles.operator.approve[0]`, and what it said. */
  readonly rule: string;
  readonly why: string;
  /** Distinct reviewers that must approve. */
  readonly approversRequired: number;
  /** `statement`: this held batch only; `run`: the same normalized statement for the rest of the CI run. */
  readonly scope: 'statement' | 'run';
  /** For scope `run`: the normalized statements' fingerprint an approval covers. Null otherwise. */
  readonly scopeKey: string | null;
  readonly status: ApprovalStatus;
  /** Epoch ms. */
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly decidedAt: number | null;
  /** Why it ended: the denying reviewer's reason, "timed out", "cancelled by the agent" … */
  readonly outcome: string | null;
  readonly decisions: readonly ApprovalDecision[];
  readonly blastRadius: BlastRadius | null;
}

/** How many reviewers have approved `request` so far. */
export function approvalCount(request: Pick<ApprovalRequest, 'decisions'>): number {
  return request.decisions.filter((decision) => decision.verdict === 'approve').length;
}

/** What the notifiers send on a request's creation and on its final decision. */
export interface ApprovalNotification {
  readonly event: 'approval.requested' | 'approval.decided';
  readonly request: ApprovalRequest;
  /** Where a reviewer acts: the API URL of the request (null when no public URL is configured) and the CLI commands. */
  readonly links: {
    readonly api: string | null;
    readonly approveCommand: string;
    readonly denyCommand: string;
  };
}
