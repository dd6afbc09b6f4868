/** A realistic approval notification for the notifier tests, with fields overridable per test. */
import type { ApprovalNotification, ApprovalRequest } from '../../src/approvals/approval-types.js';

/** A pending request to delete one customer's orders, held for two reviewers. */
export function sampleRequest(overrides: Partial<ApprovalRequest> = {}): ApprovalRequest {
  return {
    id: 'apr_7k2m9q4x8c3v5b6n',
    instance: 'gw-1',
    sessionId: 'ses_1',
    tokenId: 'tok_1',
    role: 'operator',
    upstream: 'orders-db',
    subject: 'ci:acme/shop',
    reason: 'clean up test orders',
    runId: 'run-4711',
    statements: [
      {
        sql: "DELETE FROM orders WHERE customer_email = 'jane.doe@example.com' AND card = '4111 1111 1111 1111'",
        via: 'simple',
      },
    ],
    rule: 'roles.operator.approve[0]',
    why: 'deletes on public.orders need approval',
    approversRequired: 2,
    scope: 'statement',
    scopeKey: null,
    status: 'pending',
    createdAt: Date.UTC(2025, 0, 2, 10, 0, 0),
    expiresAt: Date.UTC(2025, 0, 2, 10, 15, 0),
    decidedAt: null,
    outcome: null,
    decisions: [],
    blastRadius: { estimatedRows: 1234, method: 'explain' },
    ...overrides,
  };
}

/** An `approval.requested` notification for {@link sampleRequest}, with an API link. */
export function sampleNotification(
  overrides: Partial<ApprovalNotification> = {},
  request: Partial<ApprovalRequest> = {},
): ApprovalNotification {
  const req = sampleRequest(request);
  return {
    event: 'approval.requested',
    request: req,
    links: {
      api: `https://airlock.example.com/v1/approvals/${req.id}`,
      approveCommand: `airlock approvals approve ${req.id} --reason "<why>"`,
      denyCommand: `airlock approvals deny ${req.id} --reason "<why>"`,
    },
    ...overrides,
  };
}
