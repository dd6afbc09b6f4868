/** The who/why/where of approval audit events: the agent's session the request came from. */
import type { AuditEventBody } from '../audit/audit-event.js';
import type { ApprovalRequest } from './approval-types.js';

/** Audit context of `request`: the agent's token, reason and session (reviewers appear in `what`). */
export function approvalAuditContext(
  request: ApprovalRequest,
): Pick<AuditEventBody, 'who' | 'why' | 'where'> {
  return {
    who: { tokenId: request.tokenId, subject: request.subject, role: request.role },
    why: { reason: request.reason, runId: request.runId },
    where: { sessionId: request.sessionId, upstream: request.upstream },
  };
}
