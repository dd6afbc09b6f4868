/** The body of `POST /v1/approvals/:id/approve|deny`: a JSON object with at most a `reason`, read strictly. */
import { decisionReasonProblem } from '../approvals/decision-reason.js';

/** The reason to record, or what is wrong with the body (an HTTP 400). */
export type DecisionBodyResult =
  | { readonly ok: true; readonly reason: string }
  | { readonly ok: false; readonly error: string };

/**
 * Reads `text` as the body of a `verdict`. An empty body is an approval without a reason (so a bare
 * `curl -X POST` approves); anything else must be a JSON object whose only key is `reason`.
 */
export function parseDecisionBody(text: string, verdict: 'approve' | 'deny'): DecisionBodyResult {
  let reason = '';
  if (text.trim() !== '') {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return { ok: false, error: 'the body is not JSON; send {"reason": "…"}' };
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      return { ok: false, error: 'the body must be a JSON object, e.g. {"reason": "…"}' };
    }
    const fields = body as Record<string, unknown>;
    const unknown = Object.keys(fields).find((key) => key !== 'reason');
    if (unknown !== undefined) {
      // A "reviewer" key is the likely mistake: the reviewer is whoever owns the bearer key.
      return {
        ok: false,
        error: `unknown field ${JSON.stringify(unknown)}; the body takes only "reason" (the reviewer is the owner of the key)`,
      };
    }
    if (Object.hasOwn(fields, 'reason')) {
      if (typeof fields.reason !== 'string') return { ok: false, error: 'reason must be a string' };
      reason = fields.reason;
    }
  }
  const problem = decisionReasonProblem(verdict, reason);
  return problem === undefined ? { ok: true, reason } : { ok: false, error: problem };
}
