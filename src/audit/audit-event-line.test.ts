import { describe, expect, it } from 'vitest';
import type { ChainedAuditEvent } from './audit-event.js';
import { formatAuditEventLine, terminalSafe } from './audit-event-line.js';

const HASH = '0'.repeat(64);

function event(fields: Partial<ChainedAuditEvent>): ChainedAuditEvent {
  return {
    kind: 'token.issued',
    at: '2024-05-01T10:00:00.000Z',
    instance: 'gw-1',
    seq: 7,
    prevHash: HASH,
    hash: HASH,
    ...fields,
  };
}

describe('formatAuditEventLine', () => {
  it('shows time, position, kind, subject, decision, tables and the SQL', () => {
    const line = formatAuditEventLine(
      event({
        kind: 'statement.decided',
        who: { subject: 'alice@example.com' },
        what: {
          sql: 'SELECT *\n  FROM public.orders',
          decision: 'deny',
          tables: ['public.orders', 'public.customers'],
        },
      }),
    );
    expect(line).toBe(
      '2024-05-01T10:00:00.000Z  gw-1#7  statement.decided  alice@example.com  deny  public.orders,public.customers  SELECT * FROM public.orders',
    );
  });

  it('puts - where the event has nothing and shows the outcome of a finished statement', () => {
    expect(formatAuditEventLine(event({}))).toBe('2024-05-01T10:00:00.000Z  gw-1#7  token.issued  -  -  -');
    expect(
      formatAuditEventLine(event({ kind: 'statement.finished', what: { outcome: 'error', decidedSeq: 6 } })),
    ).toContain('statement.finished  -  error  -');
  });

  it('cuts long SQL to 80 characters', () => {
    const line = formatAuditEventLine(event({ what: { sql: `SELECT ${'x, '.repeat(100)}1` } }));
    const sql = line.slice(line.indexOf('SELECT'));
    expect([...sql]).toHaveLength(80);
    expect(sql.endsWith('…')).toBe(true);
  });

  it('never lets an event write control characters to the terminal', () => {
    const line = formatAuditEventLine(
      event({ who: { subject: 'eve\u001b[2J' }, what: { sql: 'SELECT 1 \u202e-- \u0007\r\ndone' } }),
    );
    expect(line).not.toMatch(/[\p{Cc}\p{Cf}]/u);
    expect(line).toContain('eve?[2J');
    expect(terminalSafe('a\tb\u200bc')).toBe('a b?c');
  });
});
