import { describe, expect, it } from 'vitest';
import { sampleRequest } from '../../test/approvals/sample-notification.js';
import { describeApproval } from '../approvals/approval-view.js';
import { formatApprovalDetail, formatApprovalTable, formatDuration } from './approval-text.js';

const created = Date.UTC(2025, 0, 2, 10, 0, 0);

describe('formatApprovalTable', () => {
  it('shows id, status, age, subject, role and the first line of the SQL, aligned', () => {
    const views = [
      sampleRequest({
        id: 'apr_bbbbbbbbbbbbbbbb',
        createdAt: created + 30 * 60_000,
        subject: 'alice@example.com',
        statements: [{ sql: 'TRUNCATE scratch', via: 'simple' }],
      }),
      sampleRequest({
        id: 'apr_aaaaaaaaaaaaaaaa',
        statements: [
          { sql: `DELETE FROM orders\n WHERE id IN (${'1, '.repeat(40)}2)`, via: 'simple' },
          { sql: 'SELECT 1', via: 'simple' },
        ],
      }),
    ].map(describeApproval);
    expect(formatApprovalTable(views, created + 3 * 3600_000).split('\n')).toEqual([
      'ID                    STATUS   AGE  SUBJECT            ROLE      SQL',
      'apr_bbbbbbbbbbbbbbbb  pending  2h   alice@example.com  operator  TRUNCATE scratch',
      'apr_aaaaaaaaaaaaaaaa  pending  3h   ci:acme/shop       operator  DELETE FROM orders …',
    ]);
  });

  it('truncates long SQL and cannot be steered by escape sequences in it', () => {
    const sql = `UPDATE t SET note = '\u001b[2K\rSELECT 1' ${'x'.repeat(80)}`;
    const [, row] = formatApprovalTable(
      [describeApproval(sampleRequest({ statements: [{ sql, via: 'simple' }] }))],
      created,
    ).split('\n');
    expect(row).not.toMatch(/\p{Cc}/u);
    expect(row).toContain("UPDATE t SET note = '?[2K SELECT 1' xxx");
    expect(row?.endsWith('x…')).toBe(true);
  });
});

describe('formatApprovalDetail', () => {
  it('shows who asks, why, the whole SQL with its values, and the decisions so far', () => {
    const view = describeApproval(
      sampleRequest({
        statements: [
          { sql: 'DELETE FROM orders\nWHERE customer_id = $1', via: 'execute', params: ['42', null] },
        ],
        decisions: [{ reviewer: 'bob', verdict: 'approve', reason: 'checked', at: created + 60_000 }],
      }),
    );
    expect(formatApprovalDetail(view, created + 5 * 60_000)).toBe(
      [
        'apr_7k2m9q4x8c3v5b6n  pending (1 of 2 approvals)',
        '  subject:  ci:acme/shop',
        '  reason:   clean up test orders',
        '  run id:   run-4711',
        '  role:     operator on orders-db (session ses_1)',
        '  rule:     roles.operator.approve[0]: deletes on public.orders need approval',
        '  scope:    this statement only',
        '  rows:     about 1234 (planner estimate; nothing was run)',
        '  created:  2025-01-02T10:00:00.000Z (5m ago)',
        '  expires:  2025-01-02T10:15:00.000Z (in 10m)',
        '  decisions:',
        '    2025-01-02T10:01:00.000Z  bob approved: checked',
        '',
        'statement 1 of 1 (execute):',
        '  DELETE FROM orders',
        '  WHERE customer_id = $1',
        '  params: "42", null',
      ].join('\n'),
    );
  });

  it('says when and how a decided request ended, and prints invisible characters as ?', () => {
    const view = describeApproval(
      sampleRequest({
        status: 'denied',
        runId: null,
        blastRadius: null,
        decidedAt: created + 60_000,
        outcome: 'wrong customer',
        statements: [{ sql: "SELECT 'a  b'\u202e\tFROM x", via: 'simple' }],
      }),
    );
    const text = formatApprovalDetail(view, created + 120_000);
    expect(text).toContain('  decided:  2025-01-02T10:01:00.000Z (wrong customer)');
    expect(text).not.toContain('run id');
    expect(text).not.toContain('rows:');
    expect(text).toContain("  SELECT 'a  b'?    FROM x");
  });
});

describe('formatDuration', () => {
  it('rounds down to the largest useful unit and never goes negative', () => {
    expect(
      [0, 59_999, 60_000, 3_599_999, 3_600_000, 47 * 3_600_000, 48 * 3_600_000, -5].map(formatDuration),
    ).toEqual(['0s', '59s', '1m', '59m', '1h', '47h', '2d', '0s']);
  });
});
