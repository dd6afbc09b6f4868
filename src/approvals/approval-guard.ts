/**
 * The approval guard: a batch the inner guards judge `approve` is held inside its live session until
 * reviewers decide. The request is stored and audited first, the agent gets a notice naming it, and
 * then exactly the held batch runs (approved), or is refused: denied 42501 with the reviewer's reason,
 * expired or withdrawn 57014. Sits inside the audit guard, so what runs is recorded write-ahead with
 * its approval id.
 */
import { AUDIT_UNAVAILABLE_SQLSTATE } from '../audit/audited-guard.js';
import type { AirlockConfig } from '../config/config-types.js';
import type {
  BatchContext,
  Guard,
  GuardBatch,
  GuardVerdict,
  SessionGuard,
  SessionIdentity,
  StatementDecision,
} from '../proxy/guard.js';
import { refuseUnapproved, thenVerdict } from '../proxy/guard.js';
import type { SessionResultMasking } from '../proxy/result-masking.js';
import type { ApprovalCoordinator, HeldRequest, HoldInput, HoldOutcome } from './approval-coordinator.js';
import { DEFAULT_APPROVAL_SETTINGS } from './approval-settings.js';
import type { ApprovalRequest, BlastRadius, HeldStatement } from './approval-types.js';
import { runScopeKey } from './run-scope-key.js';

/** SQLSTATE of a held statement that expired or was withdrawn (query_canceled), as the issue prescribes. */
export const APPROVAL_CANCELED_SQLSTATE = '57014';

type ApproveVerdict = GuardVerdict & { action: 'approve' };

/**
 * How many rows the held statements would touch, computed without side effects (EXPLAIN on a side
 * connection); null when none of them can be estimated. `params` are the values actually bound.
 */
export type BlastRadiusEstimate = (
  identity: SessionIdentity,
  statements: readonly { readonly sql: string; readonly params?: readonly (string | null)[] }[],
) => Promise<BlastRadius | null>;

/** Where failures to store or audit a request are reported (never with statement text). */
export type ApprovalFailureReporter = (error: unknown, sessionId: string) => void;

/** Wraps `inner` so that batches needing approval wait for reviewers instead of being refused. */
export function approvalGuard(
  inner: Guard,
  coordinator: ApprovalCoordinator,
  config: Pick<AirlockConfig, 'roles'>,
  onFailure: ApprovalFailureReporter,
  estimate?: BlastRadiusEstimate,
): Guard {
  return {
    openSession(identity: SessionIdentity): SessionGuard {
      const session = inner.openSession(identity);
      return new ApprovalSessionGuard(session, identity, coordinator, config, onFailure, estimate);
    },
  };
}

class ApprovalSessionGuard implements SessionGuard {
  readonly upstreamParameters: Readonly<Record<string, string>>;
  readonly resultMasking: SessionResultMasking | undefined;
  /** The request this session waits on, if any (one batch waits at a time). */
  private held: HeldRequest | null = null;

  constructor(
    private readonly inner: SessionGuard,
    private readonly identity: SessionIdentity,
    private readonly coordinator: ApprovalCoordinator,
    private readonly config: Pick<AirlockConfig, 'roles'>,
    private readonly onFailure: ApprovalFailureReporter,
    private readonly estimate: BlastRadiusEstimate | undefined,
  ) {
    this.upstreamParameters = inner.upstreamParameters;
    this.resultMasking = inner.resultMasking;
  }

  checkBatch(batch: GuardBatch, context?: BatchContext): GuardVerdict | Promise<GuardVerdict> {
    return thenVerdict(this.inner.checkBatch(batch, context), (verdict) =>
      verdict.action === 'approve' ? this.hold(verdict, batch, context) : verdict,
    );
  }

  close(): void {
    // The relay withdraws a waiting batch as it closes; this makes sure, whatever closed the session.
    this.held?.withdraw('session-ended');
    this.held = null;
    this.inner.close();
  }

  private async hold(
    verdict: ApproveVerdict,
    batch: GuardBatch,
    context: BatchContext | undefined,
  ): Promise<GuardVerdict> {
    // A caller that cannot keep the agent waiting (no notice, no cancel) cannot hold: refuse.
    if (context === undefined) return refuseUnapproved(verdict);
    const settings = this.config.roles[this.identity.role]?.approval ?? DEFAULT_APPROVAL_SETTINGS;
    const statements = heldStatements(verdict.statements ?? []);
    const input: HoldInput = {
      identity: this.identity,
      statements,
      rule: verdict.approval.rule,
      why: verdict.approval.reason,
      settings,
      // The key comes from what the agent sent, in full: the held statements' params are the audit's
      // record of them (masked, cut), under which two different bindings could look the same.
      scopeKey: settings.scope === 'run' ? runScopeKey(this.identity.role, runningStatements(batch)) : null,
    };
    let held: HeldRequest;
    try {
      const covered = await this.coordinator.approvedInRun(input);
      if (covered !== undefined) return approved(verdict, covered);
      held = await this.coordinator.hold({ ...input, blastRadius: await this.blastRadius(batch) });
    } catch (error) {
      this.onFailure(error, this.identity.sessionId);
      return {
        action: 'deny',
        sqlState: AUDIT_UNAVAILABLE_SQLSTATE,
        message: `airlock approval: ${verdict.approval.reason}, but the approval request could not be recorded, so the statement was not run`,
        hint: `Retry later, or give the operator session id ${this.identity.sessionId}.`,
      };
    }
    this.held = held;
    context.notice(this.describeHold(held.request));
    const stopListening = context.onWithdrawn((why) => held.withdraw(why));
    let outcome: HoldOutcome;
    try {
      outcome = await held.outcome;
    } finally {
      stopListening();
      this.held = null;
    }
    return decidedVerdict(verdict, outcome);
  }

  /** The estimate over the statements that would run, with their real bound values; null if it fails. */
  private async blastRadius(batch: GuardBatch): Promise<BlastRadius | null> {
    if (this.estimate === undefined) return null;
    try {
      return await this.estimate(this.identity, runningStatements(batch));
    } catch {
      // Best effort: a reviewer still sees the statement itself.
      return null;
    }
  }

  private describeHold(request: ApprovalRequest) {
    const links = this.coordinator.links(request.id);
    const approvers =
      request.approversRequired === 1 ? 'one reviewer' : `${request.approversRequired} distinct reviewers`;
    const minutes = Math.max(1, Math.round((request.expiresAt - request.createdAt) / 60_000));
    return {
      message: `airlock approval: statement held for human approval (request ${request.id})`,
      detail: `${request.why}${
        request.blastRadius === null
          ? ''
          : ` (about ${request.blastRadius.estimatedRows} row${request.blastRadius.estimatedRows === 1 ? '' : 's'}, planner estimate)`
      }. Waiting for ${approvers} to approve until ${new Date(request.expiresAt).toISOString()} (${minutes} min); it runs only once approved.`,
      hint: [
        `approve: ${links.approveCommand}`,
        `deny: ${links.denyCommand}`,
        ...(links.api === null ? [] : [`API: ${links.api}`]),
      ].join('  |  '),
    };
  }
}

/** The statements of the batch that run (a Parse alone runs nothing), as the agent sent them. */
function runningStatements(batch: GuardBatch): GuardBatch['statements'] {
  return batch.statements.filter((s) => s.via !== 'parse');
}

/** The held statements as stored and shown to reviewers (params as the inner guards recorded them). */
function heldStatements(statements: readonly StatementDecision[]): HeldStatement[] {
  return statements.map((s) => ({
    sql: s.sql,
    via: s.via,
    ...(s.params === undefined ? {} : { params: [...s.params] }),
  }));
}

/** The batch runs: its statements carry the approval id into the audit trail. */
function approved(verdict: ApproveVerdict, request: ApprovalRequest): GuardVerdict {
  verdict.approval.onApproved?.();
  const { approval: _need, action: _action, ...running } = verdict;
  return {
    ...running,
    action: 'allow',
    ...(verdict.statements === undefined
      ? {}
      : { statements: verdict.statements.map((s) => ({ ...s, approvalId: request.id })) }),
  };
}

function decidedVerdict(verdict: ApproveVerdict, outcome: HoldOutcome): GuardVerdict {
  const { request } = outcome;
  const refused = (message: string, hint: string, sqlState?: string): GuardVerdict => ({
    action: 'deny',
    message,
    hint,
    ...(sqlState === undefined ? {} : { sqlState }),
    ...(verdict.statements === undefined
      ? {}
      : {
          statements: verdict.statements.map((s) => ({
            ...s,
            decision: 'deny' as const,
            approvalId: request.id,
          })),
        }),
  });
  switch (outcome.status) {
    case 'approved':
      return approved(verdict, request);
    case 'denied': {
      const denial = [...request.decisions].reverse().find((d) => d.verdict === 'deny');
      return refused(
        `airlock approval: request ${request.id} was denied by ${denial?.reviewer ?? 'a reviewer'}: ${denial?.reason ?? request.outcome ?? ''}`,
        'The statement did not run. Change it as the reviewer asked, or talk to them before retrying.',
      );
    }
    case 'expired':
      return refused(
        `airlock approval: request ${request.id} expired: nobody approved it in time, so the statement did not run`,
        'Retry when a reviewer is available, or ask an operator to raise the role’s approval timeout.',
        APPROVAL_CANCELED_SQLSTATE,
      );
    case 'withdrawn':
    case 'abandoned':
      return refused(
        `canceling statement due to user request: approval request ${request.id} was withdrawn, the statement did not run`,
        'Send the statement again to ask for a new approval.',
        APPROVAL_CANCELED_SQLSTATE,
      );
  }
}
