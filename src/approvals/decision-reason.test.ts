import { describe, expect, it } from 'vitest';
import { MAX_DECISION_REASON_LENGTH } from './approval-desk.js';
import { decisionReasonProblem } from './decision-reason.js';

describe('decisionReasonProblem', () => {
  it('lets an approval go without a reason, but not a denial', () => {
    expect(decisionReasonProblem('approve', '')).toBeUndefined();
    expect(decisionReasonProblem('deny', 'wrong customer')).toBeUndefined();
    for (const blank of ['', '   ', '\n\t']) {
      expect(decisionReasonProblem('deny', blank)).toContain('a denial needs a reason');
    }
  });

  it('refuses a reason longer than the desk keeps, for either verdict', () => {
    const longest = 'x'.repeat(MAX_DECISION_REASON_LENGTH);
    expect(decisionReasonProblem('deny', longest)).toBeUndefined();
    for (const verdict of ['approve', 'deny'] as const) {
      expect(decisionReasonProblem(verdict, `${longest}x`)).toBe(
        `the reason is ${MAX_DECISION_REASON_LENGTH + 1} characters long; at most ${MAX_DECISION_REASON_LENGTH} are kept`,
      );
    }
  });
});
