/**
 * Holds approval requests for the gateway's waiting sessions: creates them (stored and audited before the
 * agent hears of them), wakes a session when its request is decided (at once for decisions made in this
 * process, by polling the store for the CLI's), expires them, withdraws them, and abandons what a restart
 * left pending. Every request ends exactly once.
 */
import { randomBytes } from 'node:crypto';
import type { AuditRecorder } from '../audit/audited-guard.js';
import type { Logger } from '../observability/logger.js';
import type { SessionIdentity, WithdrawReason } from '../proxy/guard.js';
import type { Store } from '../store/store.js';
import { approvalAuditContext } from './approval-events.js';
import type { ApprovalSettings } from './approval-settings.js';
import type {
  ApprovalNotification,
  ApprovalRequest,
  ApprovalStatus,
  BlastRadius,
  HeldStatement,
} from './approval-types.js';

/** What a waiting session asks approval for. */
export interface HoldInput {
  readonly identity: SessionIdentity;
  readonly statements: readonly HeldStatement[];
  readonly rule: string;
  readonly why: string;
  readonly settings: ApprovalSettings;
  /** For `scope: run`: the statements' key an approval covers for the rest of the run. */
  readonly scopeKey: string | null;
  /** Rows a DELETE/UPDATE would touch, when it could be estimated. */
  readonly blastRadius?: BlastRadius | null;
}

/** How a held request ended. */
export interface HoldOutcome {
  readonly status: Exclude<ApprovalStatus, 'pending'>;
  readonly request: ApprovalRequest;
}

/** A stored, announced request and the way its session waits for it. */
export interface HeldRequest {
  readonly request: ApprovalRequest;
  readonly outcome: Promise<HoldOutcome>;
  /** The agent gave up on the batch: the request ends `withdrawn` (unless a decision got there first). */
  withdraw(why: WithdrawReason): void;
}

export interface ApprovalCoordinatorDeps {
  readonly store: Store;
  readonly audit: AuditRecorder;
  /** Webhooks; never blocks. */
  readonly notify: (notification: ApprovalNotification) => void;
  readonly instance: string;
  /** Base URL of the HTTP API as reviewers reach it, or null. */
  readonly publicUrl: string | null;
  /** How often waiting requests are looked up in the store (decisions made by another process). */
  readonly pollMs: number;
  readonly now: () => number;
  readonly logger: Logger;
  /** Told when a session starts waiting and when its request ends (metrics). */
  readonly observer?: {
    readonly waiting: (count: number) => void;
    readonly ended: (status: Exclude<ApprovalStatus, 'pending'>) => void;
  };
}

interface Waiter {
  request: ApprovalRequest;
  readonly resolve: (outcome: HoldOutcome) => void;
  readonly expiry: NodeJS.Timeout;
}

const WITHDRAW_OUTCOME: Readonly<Record<WithdrawReason, string>> = {
  cancelled: 'withdrawn: the agent cancelled the statement',
  disconnected: 'withdrawn: the agent disconnected',
  'session-ended': 'withdrawn: the session ended (token expired or revoked, or the gateway stopped)',
};

/** Longest single wait of a timer; a longer timeout is re-armed (setTimeout overflows past 2^31-1 ms). */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class ApprovalCoordinator {
  private readonly waiting = new Map<string, Waiter>();
  /** Requests whose end (expiry, withdrawal) is being stored: a second end of the same request is a no-op. */
  private readonly ending = new Set<string>();
  private pollTimer: NodeJS.Timeout | null = null;
  private polling = false;

  constructor(private readonly deps: ApprovalCoordinatorDeps) {}

  /** Approval links for `id`: the API URL (when a public URL is configured) and the CLI commands. */
  links(id: string): ApprovalNotification['links'] {
    return {
      api: this.deps.publicUrl === null ? null : `${this.deps.publicUrl}/v1/approvals/${id}`,
      approveCommand: `airlock approvals approve ${id} --reviewer <name>`,
      denyCommand: `airlock approvals deny ${id} --reviewer <name> --reason "<why>"`,
    };
  }

  /** An approved `scope: run` request that already covers these statements in this CI run, if any. */
  async approvedInRun(input: HoldInput): Promise<ApprovalRequest | undefined> {
    const runId = input.identity.runId;
    if (input.settings.scope !== 'run' || runId === null || input.scopeKey === null) return undefined;
    return this.deps.store.findApprovedInRun(runId, input.identity.role, input.scopeKey);
  }

  /** Stores and audits a new request (throws if either fails: the batch must then not wait or run), then notifies. */
  async hold(input: HoldInput): Promise<HeldRequest> {
    const { identity, settings } = input;
    const createdAt = this.deps.now();
    const request: ApprovalRequest = {
      id: newApprovalId(),
      instance: this.deps.instance,
      sessionId: identity.sessionId,
      tokenId: identity.tokenId,
      role: identity.role,
      upstream: identity.upstream,
      subject: identity.subject,
      reason: identity.reason,
      runId: identity.runId,
      statements: input.statements,
      rule: input.rule,
      why: input.why,
      approversRequired: settings.approvers,
      scope: settings.scope,
      scopeKey: settings.scope === 'run' ? input.scopeKey : null,
      status: 'pending',
      createdAt,
      expiresAt: createdAt + settings.timeoutMs,
      decidedAt: null,
      outcome: null,
      decisions: [],
      blastRadius: input.blastRadius ?? null,
    };
    await this.deps.store.insertApproval(request);
    await this.deps.audit.record({
      kind: 'approval.requested',
      ...approvalAuditContext(request),
      where: { sessionId: identity.sessionId, client: identity.clientAddress, upstream: identity.upstream },
      what: {
        approvalId: request.id,
        statements: request.statements.map((s) => ({
          sql: s.sql,
          via: s.via,
          ...(s.params === undefined ? {} : { params: [...s.params] }),
        })),
        rule: request.rule,
        why: request.why,
        approversRequired: request.approversRequired,
        scope: request.scope,
        expiresAt: new Date(request.expiresAt).toISOString(),
        ...(request.blastRadius === null ? {} : { estimatedRows: request.blastRadius.estimatedRows }),
      },
    });
    let resolve!: (outcome: HoldOutcome) => void;
    const outcome = new Promise<HoldOutcome>((r) => {
      resolve = r;
    });
    const expiry = this.armExpiry(request.id, request.expiresAt);
    this.waiting.set(request.id, { request, resolve, expiry });
    this.deps.observer?.waiting(this.waiting.size);
    this.startPolling();
    this.deps.notify({ event: 'approval.requested', request, links: this.links(request.id) });
    return {
      request,
      outcome,
      withdraw: (why) => {
        void this.end(request.id, 'withdrawn', WITHDRAW_OUTCOME[why]);
      },
    };
  }

  /** A decision was stored (by this process's desk): wakes the waiting session now if it settled the request. */
  wake(request: ApprovalRequest): void {
    if (request.status !== 'pending') this.settle(request);
  }

  /** At start: requests this instance left pending belong to sessions that no longer exist; they never run. */
  async abandonLeftovers(): Promise<number> {
    const abandoned = await this.deps.store.abandonPendingApprovals(
      this.deps.instance,
      this.deps.now(),
      'abandoned: the gateway restarted while it waited, and its session is gone',
    );
    for (const request of abandoned) {
      this.deps.observer?.ended('abandoned');
      await this.recordEnd(request);
      this.deps.notify({ event: 'approval.decided', request, links: this.links(request.id) });
    }
    return abandoned.length;
  }

  /** Stops timers; sessions still waiting are withdrawn by their relays as they close. */
  close(): void {
    if (this.pollTimer !== null) clearInterval(this.pollTimer);
    this.pollTimer = null;
    for (const waiter of this.waiting.values()) clearTimeout(waiter.expiry);
  }

  private armExpiry(id: string, expiresAt: number): NodeJS.Timeout {
    const wait = Math.max(0, expiresAt - this.deps.now());
    const timer = setTimeout(
      () => {
        if (this.deps.now() < expiresAt) {
          const waiter = this.waiting.get(id);
          if (waiter !== undefined)
            this.waiting.set(id, { ...waiter, expiry: this.armExpiry(id, expiresAt) });
          return;
        }
        void this.end(id, 'expired', 'expired: no decision before the timeout');
      },
      Math.min(wait, MAX_TIMER_MS),
    );
    timer.unref();
    return timer;
  }

  /**
   * Ends a waiting request with `status` unless a decision ended it first (then that decision stands).
   * If the store cannot be written, the session is still released as `status`: it never runs unapproved.
   */
  private async end(id: string, status: 'expired' | 'withdrawn', outcome: string): Promise<void> {
    const waiter = this.waiting.get(id);
    if (waiter === undefined || this.ending.has(id)) return;
    this.ending.add(id);
    const at = this.deps.now();
    let ended: ApprovalRequest | undefined;
    try {
      ended = await this.deps.store.updateApproval(id, (request) =>
        request.status === 'pending'
          ? {
              result: { ...request, status, decidedAt: at, outcome },
              finish: { status, at, outcome },
            }
          : { result: request },
      );
    } catch (error) {
      this.deps.logger.error({ err: String(error), approvalId: id }, 'approval: could not store its end');
    }
    const request = ended ?? { ...waiter.request, status, decidedAt: at, outcome };
    if (request.status !== 'pending' && request.status === status) await this.recordEnd(request);
    this.ending.delete(id);
    this.settle(request);
  }

  /** Resolves the waiting session once, with the request's final state, and tells the webhooks. */
  private settle(request: ApprovalRequest): void {
    const waiter = this.waiting.get(request.id);
    if (waiter === undefined || request.status === 'pending') return;
    this.waiting.delete(request.id);
    clearTimeout(waiter.expiry);
    if (this.waiting.size === 0 && this.pollTimer !== null) {
      clearInterval(this.pollTimer);
      this.pollTimer = null;
    }
    this.deps.observer?.waiting(this.waiting.size);
    this.deps.observer?.ended(request.status);
    waiter.resolve({ status: request.status, request });
    this.deps.notify({ event: 'approval.decided', request, links: this.links(request.id) });
  }

  /** Audits an end no reviewer decided (expiry, withdrawal, abandonment); reviewers' decisions are audited by the desk. */
  private async recordEnd(request: ApprovalRequest): Promise<void> {
    try {
      await this.deps.audit.record({
        kind: 'approval.decided',
        ...approvalAuditContext(request),
        what: { approvalId: request.id, status: request.status, outcome: request.outcome ?? '' },
      });
    } catch (error) {
      this.deps.logger.error(
        { err: String(error), approvalId: request.id },
        'approval: could not audit its end',
      );
    }
  }

  private startPolling(): void {
    if (this.pollTimer !== null) return;
    this.pollTimer = setInterval(() => void this.poll(), this.deps.pollMs);
    this.pollTimer.unref();
  }

  /** Picks up decisions stored by another process (the CLI). */
  private async poll(): Promise<void> {
    if (this.polling || this.waiting.size === 0) return;
    this.polling = true;
    try {
      for (const request of await this.deps.store.getApprovals([...this.waiting.keys()])) {
        this.settle(request);
      }
    } catch (error) {
      this.deps.logger.warn({ err: String(error) }, 'approval: could not read decisions from the store');
    } finally {
      this.polling = false;
    }
  }
}

const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

/** `apr_` + 20 base32 characters (100 random bits): unguessable, easy to read aloud and type. */
function newApprovalId(): string {
  const bytes = randomBytes(20);
  let id = 'apr_';
  for (const byte of bytes) id += ID_ALPHABET[byte & 31];
  return id;
}
