/** Test-only fixtures shared by the approval unit tests: the agent's session and a held DELETE. */
import type { SessionIdentity } from '../proxy/guard.js';
import type { HoldInput } from './approval-coordinator.js';
import { DEFAULT_APPROVAL_SETTINGS } from './approval-settings.js';

/** An agent's session on role `operator`, upstream `shop`. */
export const testIdentity: SessionIdentity = {
  sessionId: 's1',
  tokenId: 'at_1',
  role: 'operator',
  upstream: 'shop',
  subject: 'ci:acme/shop',
  reason: 'PR #1',
  runId: null,
  clientAddress: '127.0.0.1:5000',
  expiresAt: Date.now() + 60_000,
};

/** A `delete from orders` held for `approvers` reviewers, expiring after `timeoutMs`. */
export function heldDelete(timeoutMs = 60_000, approvers = 1): HoldInput {
  return {
    identity: testIdentity,
    statements: [{ sql: 'delete from orders', via: 'simple-query' }],
    rule: 'roles.operator.approve[0]',
    why: 'delete needs approval',
    settings: { ...DEFAULT_APPROVAL_SETTINGS, timeoutMs, approvers },
    scopeKey: null,
  };
}
