/** An in-memory ApprovalDesk for API and CLI tests: the desk's rules on a plain array, with every call recorded. */
import {
  type ApprovalDesk,
  type DecisionResult,
  type ListApprovalsOptions,
  MAX_DECISION_REASON_LENGTH,
} from '../../src/approvals/approval-desk.js';
import type { ApprovalRequest } from '../../src/approvals/approval-types.js';

/** One call to decide, as the desk received it. */
export interface RecordedDecision {
  readonly id: string;
  readonly reviewer: string;
  readonly verdict: 'approve' | 'deny';
  readonly reason: string;
}

/** Holds `requests`; `subjectsOf` names each reviewer's own token subjects (for self-approval). */
export class FakeApprovalDesk implements ApprovalDesk {
  readonly requests: ApprovalRequest[];
  readonly decisions: RecordedDecision[] = [];
  readonly listCalls: ListApprovalsOptions[] = [];
  readonly getCalls: string[] = [];

  constructor(
    requests: readonly ApprovalRequest[],
    private readonly subjectsOf: Readonly<Record<string, readonly string[]>> = {},
    private readonly now: () => number = () => Date.UTC(2025, 0, 2, 10, 5, 0),
  ) {
    this.requests = [...requests];
  }

  async list(options: ListApprovalsOptions = {}): Promise<ApprovalRequest[]> {
    this.listCalls.push(options);
    return this.requests
      .filter((request) => options.status === undefined || request.status === options.status)
      .sort((a, b) => b.createdAt - a.createdAt)
      .slice(0, options.limit ?? 100);
  }

  async get(id: string): Promise<ApprovalRequest | undefined> {
    this.getCalls.push(id);
    return this.requests.find((request) => request.id === id);
  }

  async decide(
    id: string,
    reviewer: string,
    verdict: 'approve' | 'deny',
    reason: string,
  ): Promise<DecisionResult> {
    this.decisions.push({ id, reviewer, verdict, reason });
    const index = this.requests.findIndex((request) => request.id === id);
    const request = this.requests[index];
    if (request === undefined) return refuse('not-found', `no approval request ${id}`);
    if (request.status !== 'pending') return refuse('not-pending', `${id} is already ${request.status}`);
    if ((verdict === 'deny' && reason.trim() === '') || reason.length > MAX_DECISION_REASON_LENGTH) {
      return refuse('bad-reason', 'a denial needs a reason of at most 1000 characters');
    }
    if (this.subjectsOf[reviewer]?.includes(request.subject)) {
      return refuse('self-approval', `${reviewer} asked for ${id} and cannot decide it`);
    }
    if (request.decisions.some((d) => d.reviewer === reviewer && d.verdict === 'approve')) {
      return refuse('already-approved-by-reviewer', `${reviewer} already approved ${id}`);
    }
    const at = this.now();
    const decisions = [...request.decisions, { reviewer, verdict, reason, at }];
    const approvals = decisions.filter((d) => d.verdict === 'approve').length;
    const final = verdict === 'deny' || approvals >= request.approversRequired;
    const decided: ApprovalRequest = {
      ...request,
      decisions,
      ...(final
        ? {
            status: verdict === 'deny' ? 'denied' : 'approved',
            decidedAt: at,
            outcome: verdict === 'deny' ? reason : `approved by ${reviewer}`,
          }
        : {}),
    };
    this.requests[index] = decided;
    return { ok: true, request: decided };
  }
}

function refuse(problem: Extract<DecisionResult, { ok: false }>['problem'], message: string): DecisionResult {
  return { ok: false, problem, message };
}
