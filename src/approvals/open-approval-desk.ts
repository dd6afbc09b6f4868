/**
 * The reviewers' desk on the store: a decision is judged, recorded in the audit trail, then judged again
 * and stored in one transaction (so two processes cannot both win).
 */
import type { AuditEventBody, JsonValue } from '../audit/audit-event.js';
import type { AuditRecorder } from '../audit/audited-guard.js';
import type { AirlockConfig } from '../config/config-types.js';
import type { Store } from '../store/store.js';
import type { ApprovalDesk, DecisionResult, ListApprovalsOptions } from './approval-desk.js';
import { approvalAuditContext } from './approval-events.js';
import { type ApprovalRequest, approvalCount } from './approval-types.js';
import { type DecisionAttempt, judgeDecision } from './judge-decision.js';

export interface ApprovalDeskDeps {
  readonly store: Store;
  readonly config: Pick<AirlockConfig, 'reviewers'>;
  readonly audit: AuditRecorder;
  readonly now: () => number;
  /** Told of every stored decision (the gateway wakes the waiting session at once instead of polling). */
  readonly onDecided?: (request: ApprovalRequest) => void;
}

/** The desk the HTTP API (in the gateway) and the CLI (in its own process) act through. */
export function openApprovalDesk(deps: ApprovalDeskDeps): ApprovalDesk {
  return {
    list: (options: ListApprovalsOptions = {}) => deps.store.listApprovals(options),
    get: (id) => deps.store.getApproval(id),
    async decide(id, reviewerName, verdict, reason): Promise<DecisionResult> {
      const reviewer = Object.hasOwn(deps.config.reviewers, reviewerName)
        ? deps.config.reviewers[reviewerName]
        : undefined;
      // Callers authenticate reviewers first; a name not in the config never decides anything.
      if (reviewer === undefined) throw new Error(`${reviewerName} is not a configured reviewer`);
      const attempt: DecisionAttempt = { reviewer, verdict, reason, now: deps.now() };
      const current = await deps.store.getApproval(id);
      if (current === undefined) return notFound(id);
      const expected = judgeDecision(current, attempt).result;
      if (!expected.ok) return expected;
      // Write-ahead, as for statements: the decision is in the audit trail before it can take effect.
      // If that record cannot be written, this throws and nothing is stored.
      const recorded = await deps.audit.record(decidedEvent(expected.request, attempt));
      const result =
        (await deps.store.updateApproval(id, (request) => judgeDecision(request, attempt))) ?? notFound(id);
      if (!sameOutcome(result, expected)) {
        // Another decision, an expiry or a withdrawal got in between: the trail says what was stored.
        await deps.audit.record(correctionEvent(result, expected.request, attempt, recorded.seq));
      }
      if (result.ok) deps.onDecided?.(result.request);
      return result;
    },
  };
}

function notFound(id: string): DecisionResult {
  return { ok: false, problem: 'not-found', message: `no approval request ${id}` };
}

function decisionFacts(request: ApprovalRequest, attempt: DecisionAttempt): Record<string, JsonValue> {
  const decision = request.decisions[request.decisions.length - 1];
  return {
    approvalId: request.id,
    reviewer: attempt.reviewer.name,
    verdict: attempt.verdict,
    reason: decision?.reason ?? attempt.reason.trim(),
    status: request.status,
    approvals: approvalCount(request),
    approversRequired: request.approversRequired,
  };
}

function decidedEvent(request: ApprovalRequest, attempt: DecisionAttempt): Omit<AuditEventBody, 'at'> {
  return {
    kind: 'approval.decided',
    ...approvalAuditContext(request),
    what: decisionFacts(request, attempt),
  };
}

/** The decision as stored, when it differs from the one recorded ahead (event `correctsSeq`). */
function correctionEvent(
  result: DecisionResult,
  expected: ApprovalRequest,
  attempt: DecisionAttempt,
  correctsSeq: number,
): Omit<AuditEventBody, 'at'> {
  if (result.ok) {
    const event = decidedEvent(result.request, attempt);
    return { ...event, what: { ...event.what, correctsSeq } };
  }
  return {
    kind: 'approval.decided',
    ...approvalAuditContext(expected),
    what: {
      approvalId: expected.id,
      reviewer: attempt.reviewer.name,
      verdict: attempt.verdict,
      stored: false,
      problem: result.problem,
      correctsSeq,
    },
  };
}

/** True when the stored decision left the request as the recorded one said it would. */
function sameOutcome(result: DecisionResult, expected: Extract<DecisionResult, { ok: true }>): boolean {
  if (!result.ok) return false;
  return (
    result.request.status === expected.request.status &&
    approvalCount(result.request) === approvalCount(expected.request)
  );
}
