/** Ends a CI run's access at once: every live token of the run is revoked and each revocation recorded. */
import type { AuditRecorder } from '../audit/audited-guard.js';
import type { Store } from '../store/store.js';

export interface RevokeRunDeps {
  readonly store: Store;
  readonly audit: AuditRecorder;
  readonly now: () => number;
}

/**
 * Revokes the tokens of `runId` and records a `token.revoked` event for each (`by` says who asked:
 * `cli`, or `token <id>` for a pipeline revoking its own run). Running sessions of those tokens are
 * ended by the gateway's revocation check. Returns the revoked ids (empty when none was live).
 */
export async function revokeRun(deps: RevokeRunDeps, runId: string, by: string): Promise<string[]> {
  const revoked = await deps.store.revokeRun(runId, deps.now());
  for (const tokenId of revoked) {
    const record = await deps.store.getToken(tokenId);
    await deps.audit.record({
      kind: 'token.revoked',
      who: { tokenId, ...(record === undefined ? {} : { subject: record.subject, role: record.role }) },
      why: { ...(record === undefined ? {} : { reason: record.reason }), runId },
      what: {
        scope: 'run',
        by,
        ...(record === undefined
          ? {}
          : { expiresAt: new Date(record.expiresAt).toISOString(), upstream: record.upstream }),
      },
    });
  }
  return revoked;
}
