import { describe, expect, it } from 'vitest';
import { parseDecisionBody } from './decision-body.js';

describe('parseDecisionBody', () => {
  it('takes the reason from a JSON object, and an empty body as an approval without one', () => {
    expect(parseDecisionBody('{"reason":"checked with the team"}', 'approve')).toEqual({
      ok: true,
      reason: 'checked with the team',
    });
    expect(parseDecisionBody('{}', 'approve')).toEqual({ ok: true, reason: '' });
    expect(parseDecisionBody('', 'approve')).toEqual({ ok: true, reason: '' });
    expect(parseDecisionBody(' {"reason": "wrong customer"} ', 'deny')).toEqual({
      ok: true,
      reason: 'wrong customer',
    });
  });

  it('refuses anything but a JSON object with a string reason', () => {
    const cases: [string, string][] = [
      ['reason=ok', 'the body is not JSON'],
      ['"ok"', 'the body must be a JSON object'],
      ['["ok"]', 'the body must be a JSON object'],
      ['null', 'the body must be a JSON object'],
      ['{"reason": 5}', 'reason must be a string'],
      ['{"reason": null}', 'reason must be a string'],
      ['{"reason": "ok", "reviewer": "alice"}', 'unknown field "reviewer"'],
    ];
    for (const [text, error] of cases) {
      const result = parseDecisionBody(text, 'approve');
      expect(result.ok).toBe(false);
      expect(result.ok ? '' : result.error).toContain(error);
    }
  });

  it('refuses a denial without a reason', () => {
    for (const text of ['', '{}', '{"reason": "  "}']) {
      const result = parseDecisionBody(text, 'deny');
      expect(result).toEqual({ ok: false, error: expect.stringContaining('a denial needs a reason') });
    }
  });
});
