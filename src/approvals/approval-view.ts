/** An approval request as reviewers read it (HTTP API and `airlock approvals … --json` alike): flat, times in ISO 8601. */
import {
  type ApprovalRequest,
  type ApprovalStatus,
  approvalCount,
  type BlastRadius,
} from './approval-types.js';

/** One held statement in a view: its SQL, how it was sent, and its bound values ([] for none). */
export interface HeldStatementView {
  readonly sql: string;
  readonly via: string;
  readonly params: readonly (string | null)[];
}

/** One reviewer's decision in a view. */
export interface ApprovalDecisionView {
  readonly reviewer: string;
  readonly verdict: 'approve' | 'deny';
  readonly reason: string;
  /** ISO 8601. */
  readonly at: string;
}

/** The JSON shape of an approval request shown to reviewers. */
export interface ApprovalView {
  readonly id: string;
  readonly status: ApprovalStatus;
  /** The held statements' SQL joined with newlines (usually there is just one statement). */
  readonly sql: string;
  /** Every held statement's bound values, in order; [] when none. */
  readonly params: readonly (string | null)[];
  readonly statements: readonly HeldStatementView[];
  readonly subject: string;
  readonly reason: string;
  readonly runId: string | null;
  readonly role: string;
  readonly upstream: string;
  readonly sessionId: string;
  readonly rule: string;
  readonly why: string;
  readonly approversRequired: number;
  /** How many reviewers approved so far. */
  readonly approvals: number;
  readonly decisions: readonly ApprovalDecisionView[];
  readonly scope: 'statement' | 'run';
  readonly blastRadius: BlastRadius | null;
  readonly createdAt: string;
  readonly expiresAt: string;
  /** Null while pending. */
  readonly decidedAt: string | null;
  readonly outcome: string | null;
}

/** The reviewer-facing view of `request`. */
export function describeApproval(request: ApprovalRequest): ApprovalView {
  const statements = request.statements.map((statement) => ({
    sql: statement.sql,
    via: statement.via,
    params: [...(statement.params ?? [])],
  }));
  return {
    id: request.id,
    status: request.status,
    sql: statements.map((statement) => statement.sql).join('\n'),
    params: statements.flatMap((statement) => statement.params),
    statements,
    subject: request.subject,
    reason: request.reason,
    runId: request.runId,
    role: request.role,
    upstream: request.upstream,
    sessionId: request.sessionId,
    rule: request.rule,
    why: request.why,
    approversRequired: request.approversRequired,
    approvals: approvalCount(request),
    decisions: request.decisions.map((decision) => ({
      reviewer: decision.reviewer,
      verdict: decision.verdict,
      reason: decision.reason,
      at: isoTime(decision.at),
    })),
    scope: request.scope,
    blastRadius: request.blastRadius === null ? null : { ...request.blastRadius },
    createdAt: isoTime(request.createdAt),
    expiresAt: isoTime(request.expiresAt),
    decidedAt: request.decidedAt === null ? null : isoTime(request.decidedAt),
    outcome: request.outcome,
  };
}

function isoTime(epochMs: number): string {
  return new Date(epochMs).toISOString();
}
