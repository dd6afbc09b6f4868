/** The reason rule for a reviewer's decision, checked where the reviewer types it (API body, CLI option) before the desk sees it. */
import { MAX_DECISION_REASON_LENGTH } from './approval-desk.js';

/** What is wrong with `reason` for `verdict`, or undefined when it is acceptable; a denial must say why. */
export function decisionReasonProblem(verdict: 'approve' | 'deny', reason: string): string | undefined {
  // The agent is told the denying reviewer's reason; an empty one leaves it guessing.
  if (verdict === 'deny' && reason.trim() === '') {
    return 'a denial needs a reason: say why, the agent and the audit trail are told';
  }
  if (reason.length > MAX_DECISION_REASON_LENGTH) {
    return `the reason is ${reason.length} characters long; at most ${MAX_DECISION_REASON_LENGTH} are kept`;
  }
  return undefined;
}
