/** parseAuditSearch: defaults, each field's validation, and errors that name the field as the user wrote it. */
import { describe, expect, it } from 'vitest';
import {
  AuditSearchError,
  type AuditSearchField,
  type AuditSearchInput,
  decodeAuditCursor,
  encodeAuditCursor,
  parseAuditSearch,
  parseIsoTime,
} from './audit-search.js';

function errorOf(input: AuditSearchInput, label?: (field: AuditSearchField) => string): AuditSearchError {
  try {
    parseAuditSearch(input, label);
  } catch (error) {
    if (error instanceof AuditSearchError) return error;
    throw error;
  }
  throw new Error('expected an AuditSearchError');
}

describe('parseAuditSearch', () => {
  it('defaults to the newest 100 events of every kind', () => {
    expect(parseAuditSearch({})).toEqual({ limit: 100, order: 'newest' });
  });

  it('keeps exact-match filters as written', () => {
    const query = parseAuditSearch({
      instance: 'gw-1',
      subject: 'alice@example.com',
      role: 'reporting',
      tokenId: 'at_123',
      runId: 'gh-run-9',
      sessionId: 's-1',
      text: "'; DROP TABLE audit_events; --",
      table: 'public.orders',
      decision: 'deny',
    });
    expect(query).toMatchObject({
      instance: 'gw-1',
      subject: 'alice@example.com',
      role: 'reporting',
      tokenId: 'at_123',
      runId: 'gh-run-9',
      sessionId: 's-1',
      text: "'; DROP TABLE audit_events; --",
      table: 'public.orders',
      decision: 'deny',
    });
  });

  it('reads kinds repeated and as comma lists, without duplicates', () => {
    expect(
      parseAuditSearch({ kind: ['statement.decided,session.started', 'statement.decided'] }).kinds,
    ).toEqual(['statement.decided', 'session.started']);
    expect(parseAuditSearch({ kind: ' token.issued , token.revoked ' }).kinds).toEqual([
      'token.issued',
      'token.revoked',
    ]);
  });

  it('refuses an unknown kind, listing the known ones', () => {
    const error = errorOf({ kind: 'statement.denied' });
    expect(error.field).toBe('kind');
    expect(error.message).toContain('kind "statement.denied" is not an event kind');
    expect(error.message).toContain('statement.decided');
    expect(errorOf({ kind: 'token.issued,' }).message).toContain('has an empty entry');
  });

  it('accepts table and schema.table, and refuses other shapes', () => {
    expect(parseAuditSearch({ table: 'orders' }).table).toBe('orders');
    for (const table of ['a.b.c', '.orders', 'public.']) {
      expect(errorOf({ table }).message).toContain('write schema.table');
    }
  });

  it('refuses a decision that is not allow, deny or approve', () => {
    expect(errorOf({ decision: 'denied' }).message).toBe(
      'decision "denied" is not a decision; use one of: allow, deny, approve',
    );
  });

  it('reads since and until as ISO 8601 (a date is midnight UTC), until exclusive and after since', () => {
    const query = parseAuditSearch({ since: '2024-05-01', until: '2024-05-01T12:30:00+02:00' });
    expect(query.sinceMs).toBe(Date.UTC(2024, 4, 1));
    expect(query.untilMs).toBe(Date.UTC(2024, 4, 1, 10, 30));
    expect(errorOf({ since: '2024-05-02', until: '2024-05-01' }, (f) => `--${f}`).message).toBe(
      '--until is not after --since; give a later time, or swap the two',
    );
    expect(errorOf({ since: '2024-05-01', until: '2024-05-01' }).field).toBe('until');
  });

  it('refuses dates that are not ISO 8601, impossible, or without a zone', () => {
    for (const since of [
      'yesterday',
      '2024-02-30',
      '2024-13-01',
      '2024-05-01T24:00:00Z',
      '2024-05-01T10:00:00',
      '1714521600000',
    ]) {
      const error = errorOf({ since });
      expect(error.field).toBe('since');
      expect(error.message).toContain(
        'is not an ISO 8601 date or date-time with a zone; write e.g. 2024-05-01',
      );
    }
  });

  it('bounds the limit to 1..1000', () => {
    expect(parseAuditSearch({ limit: '1' }).limit).toBe(1);
    expect(parseAuditSearch({ limit: '1000' }).limit).toBe(1000);
    for (const limit of ['0', '1001', '-1', '10.5', 'all', '99999999999']) {
      expect(errorOf({ limit }).message).toContain('is not a whole number from 1 to 1000');
    }
  });

  it('reads the order', () => {
    expect(parseAuditSearch({ order: 'oldest' }).order).toBe('oldest');
    expect(errorOf({ order: 'asc' }).message).toContain('use one of: newest, oldest');
  });

  it('refuses an empty value and a field given twice', () => {
    expect(errorOf({ subject: '' }).message).toBe(
      'subject is empty; give a value or leave it out to match any',
    );
    expect(errorOf({ subject: ['a', 'b'] }).message).toBe('subject is given more than once; give it once');
  });

  it('names the field as the user wrote it', () => {
    const error = errorOf({ runId: ['1', '2'] }, (field) => (field === 'runId' ? '--run' : `--${field}`));
    expect(error.message).toBe('--run is given more than once; give it once');
  });

  it('round-trips a cursor and refuses forged or damaged ones', () => {
    const cursor = { atMs: 1_714_521_600_000, instance: 'gw-1', seq: 42 };
    const text = encodeAuditCursor(cursor);
    expect(text).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeAuditCursor(text)).toEqual(cursor);
    expect(parseAuditSearch({ cursor: text }).after).toEqual(cursor);
    const forged = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    for (const bad of [
      'not a cursor',
      text.slice(0, -2),
      forged([1, 'gw', 0]),
      forged([1.5, 'gw', 1]),
      forged([1, '', 1]),
      forged({ atMs: 1, instance: 'gw', seq: 1 }),
    ]) {
      expect(errorOf({ cursor: bad }).message).toContain('cursor is not a cursor this gateway issued');
    }
  });
});

describe('parseIsoTime', () => {
  it('accepts leap days and offsets, and refuses what Date.parse would roll over', () => {
    expect(parseIsoTime('2024-02-29')).toBe(Date.UTC(2024, 1, 29));
    expect(parseIsoTime('2023-02-29')).toBeUndefined();
    expect(parseIsoTime('2024-05-01T00:00Z')).toBe(Date.UTC(2024, 4, 1));
    expect(parseIsoTime('2024-05-01T00:00:00.123456-05:30')).toBe(Date.UTC(2024, 4, 1, 5, 30, 0, 123));
    expect(parseIsoTime('2024-05-01T00:00:00+24:00')).toBeUndefined();
  });
});
