/**
 * PLACEHOLDER on branch approvals-api: the real factory (the desk on the store, with audit) is written
 * on another branch; the integrator replaces this file with it. Same signature, so callers need no change.
 */
import type { AuditRecorder } from '../audit/audited-guard.js';
import type { AirlockConfig } from '../config/config-types.js';
import type { Store } from '../store/store.js';
import type { ApprovalDesk } from './approval-desk.js';

/** What the desk is built from. */
export interface ApprovalDeskDeps {
  readonly store: Store;
  readonly config: AirlockConfig;
  readonly audit: AuditRecorder;
  readonly now: () => number;
}

/** The reviewers' desk on the configured store (not implemented in this placeholder). */
export function openApprovalDesk(_deps: ApprovalDeskDeps): ApprovalDesk {
  throw new Error('not implemented');
}
