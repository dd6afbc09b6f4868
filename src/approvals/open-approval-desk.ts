/** The reviewers' desk on the store: decisions are judged and stored in one transaction, then audited. */
import type { AuditRecorder } from '../audit/audited-guard.js';
import type { AirlockConfig } from '../config/config-types.js';
import type { Store } from '../store/store.js';
import type { ApprovalDesk, DecisionResult, ListApprovalsOptions } from './approval-desk.js';
import { approvalAuditContext } from './approval-events.js';
import type { ApprovalRequest } from './approval-types.js';
import { judgeDecision } from './judge-decision.js';

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
      const now = deps.now();
      const result = await deps.store.updateApproval(id, (request) =>
        judgeDecision(request, { reviewer, verdict, reason, now }),
      );
      if (result === undefined)
        return { ok: false, problem: 'not-found', message: `no approval request ${id}` };
      if (!result.ok) return result;
      const { request } = result;
      const decision = request.decisions[request.decisions.length - 1];
      await deps.audit.record({
        kind: 'approval.decided',
        ...approvalAuditContext(request),
        what: {
          approvalId: request.id,
          reviewer: reviewer.name,
          verdict,
          reason: decision?.reason ?? '',
          status: request.status,
          approvals: request.decisions.filter((d) => d.verdict === 'approve').length,
          approversRequired: request.approversRequired,
        },
      });
      deps.onDecided?.(request);
      return result;
    },
  };
}
