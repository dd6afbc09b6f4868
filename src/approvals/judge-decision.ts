/** The rules of a reviewer's decision on a request: who may decide, and when it is approved or denied. Pure. */
import type { ReviewerConfig } from '../config/config-types.js';
import type { ApprovalChange } from '../store/store.js';
import { type DecisionResult, MAX_DECISION_REASON_LENGTH } from './approval-desk.js';
import type { ApprovalRequest } from './approval-types.js';

/** One reviewer's attempt to decide a request. */
export interface DecisionAttempt {
  readonly reviewer: ReviewerConfig;
  readonly verdict: 'approve' | 'deny';
  readonly reason: string;
  /** Epoch ms. */
  readonly now: number;
}

/**
 * What the store should do with `attempt` on `request` as it is now: refuse it with a problem, or add the
 * decision and, when it settles the request (a deny, or the last approval needed), finish it.
 */
export function judgeDecision(
  request: ApprovalRequest,
  attempt: DecisionAttempt,
): ApprovalChange<DecisionResult> {
  const { reviewer, verdict, now } = attempt;
  const reason = attempt.reason.trim();
  const refuse = (problem: Extract<DecisionResult, { ok: false }>['problem'], message: string) => ({
    result: { ok: false as const, problem, message },
  });
  if (reason.length > MAX_DECISION_REASON_LENGTH) {
    return refuse('bad-reason', `the reason is longer than ${MAX_DECISION_REASON_LENGTH} characters`);
  }
  if (verdict === 'deny' && reason === '') {
    return refuse('bad-reason', 'a denial needs a reason: the agent and the audit trail are shown it');
  }
  if (request.status !== 'pending') {
    return refuse('not-pending', `${request.id} is already ${request.status}${describeOutcome(request)}`);
  }
  if (now >= request.expiresAt) {
    return refuse('not-pending', `${request.id} expired at ${new Date(request.expiresAt).toISOString()}`);
  }
  if (verdict === 'approve' && isOwnRequest(request, reviewer)) {
    return refuse(
      'self-approval',
      `${reviewer.name} cannot approve ${request.id}: it comes from their own identity (${request.subject}); another reviewer must`,
    );
  }
  if (request.decisions.some((d) => d.reviewer === reviewer.name)) {
    return refuse(
      'already-approved-by-reviewer',
      `${reviewer.name} already decided ${request.id}; ${request.approversRequired} distinct reviewers must approve it`,
    );
  }
  const decision = { reviewer: reviewer.name, verdict, reason, at: now };
  const decisions = [...request.decisions, decision];
  if (verdict === 'deny') {
    const outcome = `denied by ${reviewer.name}: ${reason}`;
    return {
      result: { ok: true, request: { ...request, decisions, status: 'denied', decidedAt: now, outcome } },
      decision,
      finish: { status: 'denied', at: now, outcome },
    };
  }
  const approvers = decisions.filter((d) => d.verdict === 'approve').map((d) => d.reviewer);
  if (approvers.length < request.approversRequired) {
    return { result: { ok: true, request: { ...request, decisions } }, decision };
  }
  const outcome = `approved by ${approvers.join(', ')}`;
  return {
    result: { ok: true, request: { ...request, decisions, status: 'approved', decidedAt: now, outcome } },
    decision,
    finish: { status: 'approved', at: now, outcome },
  };
}

/** The request comes from a session of this reviewer's own identity. */
function isOwnRequest(request: ApprovalRequest, reviewer: ReviewerConfig): boolean {
  return request.subject === reviewer.name || reviewer.subjects.includes(request.subject);
}

function describeOutcome(request: ApprovalRequest): string {
  return request.outcome === null ? '' : ` (${request.outcome})`;
}
