import { describe, expect, it } from 'vitest';
import type { ReviewerConfig } from '../config/config-types.js';
import type { ApprovalRequest } from './approval-types.js';
import { judgeDecision } from './judge-decision.js';

const NOW = 1_800_000_000_000;
const alice: ReviewerConfig = { name: 'alice', keySha256: 'x', subjects: ['alice@example.com'] };
const bob: ReviewerConfig = { name: 'bob', keySha256: 'y', subjects: [] };

function request(overrides: Partial<ApprovalRequest> = {}): ApprovalRequest {
  return {
    id: 'apr_test',
    instance: 'gw',
    sessionId: 's1',
    tokenId: 'at_1',
    role: 'operator',
    upstream: 'shop',
    subject: 'ci:acme/shop',
    reason: 'PR #1',
    runId: null,
    statements: [{ sql: 'delete from orders', via: 'simple-query' }],
    rule: 'roles.operator.approve[0]',
    why: 'delete needs approval',
    approversRequired: 1,
    scope: 'statement',
    scopeKey: null,
    status: 'pending',
    createdAt: NOW - 1000,
    expiresAt: NOW + 60_000,
    decidedAt: null,
    outcome: null,
    decisions: [],
    blastRadius: null,
    ...overrides,
  };
}

describe('judgeDecision', () => {
  it('approves with one approval when one is required, naming the approver', () => {
    const change = judgeDecision(request(), { reviewer: bob, verdict: 'approve', reason: ' ok ', now: NOW });
    expect(change.decision).toEqual({ reviewer: 'bob', verdict: 'approve', reason: 'ok', at: NOW });
    expect(change.finish).toEqual({ status: 'approved', at: NOW, outcome: 'approved by bob' });
    expect(change.result).toMatchObject({ ok: true, request: { status: 'approved' } });
  });

  it('keeps the request pending until enough distinct reviewers approved', () => {
    const first = judgeDecision(request({ approversRequired: 2 }), {
      reviewer: alice,
      verdict: 'approve',
      reason: '',
      now: NOW,
    });
    expect(first.finish).toBeUndefined();
    expect(first.decision?.reviewer).toBe('alice');
    const decisions = [{ reviewer: 'alice', verdict: 'approve' as const, reason: '', at: NOW }];
    const again = judgeDecision(request({ approversRequired: 2, decisions }), {
      reviewer: alice,
      verdict: 'approve',
      reason: '',
      now: NOW,
    });
    expect(again.result).toMatchObject({ ok: false, problem: 'already-approved-by-reviewer' });
    expect(again.decision).toBeUndefined();
    const second = judgeDecision(request({ approversRequired: 2, decisions }), {
      reviewer: bob,
      verdict: 'approve',
      reason: '',
      now: NOW,
    });
    expect(second.finish?.outcome).toBe('approved by alice, bob');
  });

  it('denies at once with the reason, which is required', () => {
    expect(
      judgeDecision(request(), { reviewer: bob, verdict: 'deny', reason: '  ', now: NOW }).result,
    ).toMatchObject({ ok: false, problem: 'bad-reason' });
    const denied = judgeDecision(request({ approversRequired: 3 }), {
      reviewer: bob,
      verdict: 'deny',
      reason: 'not today',
      now: NOW,
    });
    expect(denied.finish).toEqual({ status: 'denied', at: NOW, outcome: 'denied by bob: not today' });
  });

  it('refuses a reviewer approving a request from their own identity, by name or by subject', () => {
    for (const subject of ['alice', 'alice@example.com']) {
      const change = judgeDecision(request({ subject }), {
        reviewer: alice,
        verdict: 'approve',
        reason: '',
        now: NOW,
      });
      expect(change.result).toMatchObject({ ok: false, problem: 'self-approval' });
      expect(change.decision).toBeUndefined();
    }
    // Denying one's own statement is harmless.
    expect(
      judgeDecision(request({ subject: 'alice' }), {
        reviewer: alice,
        verdict: 'deny',
        reason: 'no',
        now: NOW,
      }).finish?.status,
    ).toBe('denied');
  });

  it('refuses decisions on a request that ended or expired, and overlong reasons', () => {
    for (const status of ['approved', 'denied', 'expired', 'withdrawn', 'abandoned'] as const) {
      expect(
        judgeDecision(request({ status }), { reviewer: bob, verdict: 'approve', reason: '', now: NOW })
          .result,
      ).toMatchObject({ ok: false, problem: 'not-pending' });
    }
    expect(
      judgeDecision(request({ expiresAt: NOW }), { reviewer: bob, verdict: 'approve', reason: '', now: NOW })
        .result,
    ).toMatchObject({ ok: false, problem: 'not-pending' });
    expect(
      judgeDecision(request(), { reviewer: bob, verdict: 'approve', reason: 'x'.repeat(1001), now: NOW })
        .result,
    ).toMatchObject({ ok: false, problem: 'bad-reason' });
  });
});
