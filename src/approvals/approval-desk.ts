/** What reviewers act through (HTTP API and CLI alike): list, read and decide approval requests. */
import type { ApprovalRequest, ApprovalStatus } from './approval-types.js';

/** Longest reason a reviewer may give (it is stored, audited and shown to the agent). */
export const MAX_DECISION_REASON_LENGTH = 1000;

/** Why a decision was not taken; each maps to one HTTP status and one CLI exit message. */
export type DecisionProblem =
  /** No request with that id. HTTP 404. */
  | 'not-found'
  /** The request is already approved, denied, expired, withdrawn or abandoned. HTTP 409. */
  | 'not-pending'
  /** This reviewer already approved it (a second approver must be someone else). HTTP 409. */
  | 'already-approved-by-reviewer'
  /** The reviewer is the agent's own identity (the token subject is theirs). HTTP 403. */
  | 'self-approval'
  /** A deny without a reason, or a reason too long. HTTP 400. */
  | 'bad-reason';

export type DecisionResult =
  /** The decision is recorded; `request` is the request after it (still `pending` while more approvals are needed). */
  | { readonly ok: true; readonly request: ApprovalRequest }
  | { readonly ok: false; readonly problem: DecisionProblem; readonly message: string };

export interface ListApprovalsOptions {
  /** Only requests with this status; default every status. */
  readonly status?: ApprovalStatus;
  /** Newest first, at most this many (default 100, at most 1000). */
  readonly limit?: number;
}

/** Reviewers' side of approvals. `reviewer` is a name already authenticated by the caller (API key, CLI key). */
export interface ApprovalDesk {
  list(options?: ListApprovalsOptions): Promise<ApprovalRequest[]>;
  get(id: string): Promise<ApprovalRequest | undefined>;
  decide(id: string, reviewer: string, verdict: 'approve' | 'deny', reason: string): Promise<DecisionResult>;
}
