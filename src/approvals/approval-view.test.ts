import { describe, expect, it } from 'vitest';
import { sampleRequest } from '../../test/approvals/sample-notification.js';
import { describeApproval } from './approval-view.js';

describe('describeApproval', () => {
  it('shows a pending request with ISO times, its SQL, no params and no decisions', () => {
    const view = describeApproval(sampleRequest());
    expect(view).toEqual({
      id: 'apr_7k2m9q4x8c3v5b6n',
      status: 'pending',
      sql: "DELETE FROM orders WHERE customer_email = 'jane.doe@example.com' AND card = '4111 1111 1111 1111'",
      params: [],
      statements: [
        {
          sql: "DELETE FROM orders WHERE customer_email = 'jane.doe@example.com' AND card = '4111 1111 1111 1111'",
          via: 'simple',
          params: [],
        },
      ],
      subject: 'ci:acme/shop',
      reason: 'clean up test orders',
      runId: 'run-4711',
      role: 'operator',
      upstream: 'orders-db',
      sessionId: 'ses_1',
      rule: 'roles.operator.approve[0]',
      why: 'deletes on public.orders need approval',
      approversRequired: 2,
      approvals: 0,
      decisions: [],
      scope: 'statement',
      blastRadius: { estimatedRows: 1234, method: 'explain' },
      createdAt: '2025-01-02T10:00:00.000Z',
      expiresAt: '2025-01-02T10:15:00.000Z',
      decidedAt: null,
      outcome: null,
    });
  });

  it('joins several held statements and concatenates their bound values in order', () => {
    const view = describeApproval(
      sampleRequest({
        statements: [
          { sql: 'DELETE FROM orders WHERE id = $1', via: 'execute', params: ['42'] },
          { sql: 'TRUNCATE audit_scratch', via: 'simple' },
          { sql: 'UPDATE orders SET note = $1 WHERE id = $2', via: 'execute', params: [null, '7'] },
        ],
      }),
    );
    expect(view.sql).toBe(
      'DELETE FROM orders WHERE id = $1\nTRUNCATE audit_scratch\nUPDATE orders SET note = $1 WHERE id = $2',
    );
    expect(view.params).toEqual(['42', null, '7']);
    expect(view.statements.map((s) => s.params)).toEqual([['42'], [], [null, '7']]);
  });

  it('counts approvals and shows each decision with its time, and when and how the request ended', () => {
    const at = Date.UTC(2025, 0, 2, 10, 3, 0);
    const view = describeApproval(
      sampleRequest({
        status: 'denied',
        decisions: [
          { reviewer: 'alice', verdict: 'approve', reason: '', at },
          { reviewer: 'bob', verdict: 'deny', reason: 'wrong customer', at: at + 60_000 },
        ],
        decidedAt: at + 60_000,
        outcome: 'wrong customer',
        blastRadius: null,
      }),
    );
    expect(view.approvals).toBe(1);
    expect(view.decisions).toEqual([
      { reviewer: 'alice', verdict: 'approve', reason: '', at: '2025-01-02T10:03:00.000Z' },
      { reviewer: 'bob', verdict: 'deny', reason: 'wrong customer', at: '2025-01-02T10:04:00.000Z' },
    ]);
    expect(view.decidedAt).toBe('2025-01-02T10:04:00.000Z');
    expect(view.outcome).toBe('wrong customer');
    expect(view.blastRadius).toBeNull();
  });

  it('is plain JSON: what the API sends is what the CLI prints', () => {
    const view = describeApproval(
      sampleRequest({ decisions: [{ reviewer: 'a', verdict: 'approve', reason: 'ok', at: 0 }] }),
    );
    expect(JSON.parse(JSON.stringify(view))).toEqual(view);
  });
});
