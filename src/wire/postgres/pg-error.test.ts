/** PgError named constructors: documented SQLSTATE and severity, a message, and a hint that says what to do. */
import { describe, expect, it } from 'vitest';
import { type InvalidTokenReason, PgError, type PgSeverity } from './pg-error.js';

/** One row per static constructor, with the SQLSTATE and severity docs/errors.md promises. */
const CONSTRUCTORS: Record<
  string,
  { make: () => PgError; code: string; severity: PgSeverity; mentions: string[] }
> = {
  protocolViolation: {
    make: () => PgError.protocolViolation('unexpected message type 0x7a'),
    code: '08P01',
    severity: 'FATAL',
    mentions: ['unexpected message type 0x7a'],
  },
  messageTooLarge: {
    make: () => PgError.messageTooLarge(70_000_000, 67_108_864),
    code: '08P01',
    severity: 'FATAL',
    mentions: ['70000000', '67108864'],
  },
  startupTimeout: {
    make: () => PgError.startupTimeout(10),
    code: '08P01',
    severity: 'FATAL',
    mentions: ['10'],
  },
  invalidToken: {
    make: () => PgError.invalidToken('expired', 'at_abc'),
    code: '28P01',
    severity: 'FATAL',
    mentions: ['"at_abc"', 'expired'],
  },
  sessionTokenEnded: {
    make: () => PgError.sessionTokenEnded('revoked', 'at_abc'),
    code: '28P01',
    severity: 'FATAL',
    mentions: ['"at_abc"', 'revoked'],
  },
  authenticationRejected: {
    make: () => PgError.authenticationRejected('SASL mechanism X is not supported', 'Use SCRAM-SHA-256.'),
    code: '28000',
    severity: 'FATAL',
    mentions: ['SASL mechanism X'],
  },
  tlsRequired: {
    make: () => PgError.tlsRequired(),
    code: '28000',
    severity: 'FATAL',
    mentions: ['TLS'],
  },
  unknownUpstream: {
    make: () => PgError.unknownUpstream('shop'),
    code: '3D000',
    severity: 'FATAL',
    mentions: ['"shop"'],
  },
  startupParameterRefused: {
    make: () => PgError.startupParameterRefused('search_path'),
    code: '42501',
    severity: 'FATAL',
    mentions: ['"search_path"'],
  },
  upstreamUnavailable: {
    make: () => PgError.upstreamUnavailable('shop'),
    code: '08006',
    severity: 'FATAL',
    mentions: ['"shop"'],
  },
  tooManyConnections: {
    make: () => PgError.tooManyConnections(100),
    code: '53300',
    severity: 'FATAL',
    mentions: ['100'],
  },
  shuttingDown: {
    make: () => PgError.shuttingDown(),
    code: '57P01',
    severity: 'FATAL',
    mentions: ['shutting down'],
  },
  internal: {
    make: () => PgError.internal('sess_42'),
    code: 'XX000',
    severity: 'FATAL',
    mentions: ['sess_42'],
  },
  statementDenied: {
    make: () =>
      PgError.statementDenied('DELETE on orders denied by rule no-deletes', 'Ask for a role that allows it.'),
    code: '42501',
    severity: 'ERROR',
    mentions: ['no-deletes'],
  },
};

/** A hint tells the agent what to do: a sentence with an instruction in it. */
const ACTIONABLE = /\b(use|connect|send|issue|retry|remove|report|reconnect|ask|must)\b/i;

const INVALID_TOKEN_REASONS: readonly InvalidTokenReason[] = [
  'unknown',
  'revoked',
  'expired',
  'wrong-upstream',
  'bad-secret',
  'role-changed',
  'malformed',
];

describe('PgError named constructors', () => {
  it('this table covers every static constructor', () => {
    const statics = Object.getOwnPropertyNames(PgError).filter(
      (name) => typeof (PgError as unknown as Record<string, unknown>)[name] === 'function',
    );
    expect(statics.sort()).toEqual(Object.keys(CONSTRUCTORS).sort());
  });

  it.each(Object.entries(CONSTRUCTORS))('%s gives its documented SQLSTATE and severity', (_, row) => {
    const error = row.make();
    expect(error).toBeInstanceOf(PgError);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('PgError');
    expect(error.code).toBe(row.code);
    expect(error.code).toMatch(/^[0-9A-Z]{5}$/);
    expect(error.severity).toBe(row.severity);
  });

  it.each(Object.entries(CONSTRUCTORS))('%s says what happened and what to do', (_, row) => {
    const error = row.make();
    expect(error.message.trim().length).toBeGreaterThan(0);
    for (const text of row.mentions) expect(error.message).toContain(text);
    expect(error.hint?.trim().length ?? 0).toBeGreaterThan(0);
    expect(error.hint).not.toBe(error.message);
    expect(error.hint).toMatch(ACTIONABLE);
  });

  it('keeps a caller-supplied hint as given', () => {
    expect(PgError.statementDenied('m', 'Ask for a role that allows UPDATE.').hint).toBe(
      'Ask for a role that allows UPDATE.',
    );
    expect(PgError.authenticationRejected('m', 'Use SCRAM-SHA-256.').hint).toBe('Use SCRAM-SHA-256.');
  });

  it('keeps every field given to the constructor', () => {
    const error = new PgError({ severity: 'WARNING', code: '01000', message: 'm', detail: 'd', hint: 'h' });
    expect([error.severity, error.code, error.message, error.detail, error.hint]).toEqual([
      'WARNING',
      '01000',
      'm',
      'd',
      'h',
    ]);
    expect(new PgError({ severity: 'ERROR', code: 'XX000', message: 'm' }).detail).toBeUndefined();
  });

  describe('invalidToken', () => {
    it.each(INVALID_TOKEN_REASONS)('%s: 28P01 FATAL, names the token, hint says what to do', (reason) => {
      const error = PgError.invalidToken(reason, 'at_0123');
      expect(error.code).toBe('28P01');
      expect(error.severity).toBe('FATAL');
      expect(error.message).toMatch(/^token "at_0123" \S/);
      expect(error.hint?.trim().length ?? 0).toBeGreaterThan(0);
      expect(error.hint).toMatch(ACTIONABLE);
      expect(error.hint).toContain('airlock token');
    });

    it('gives each reason its own message and hint', () => {
      const errors = INVALID_TOKEN_REASONS.map((reason) => PgError.invalidToken(reason, 'at_x'));
      expect(new Set(errors.map((e) => e.message)).size).toBe(INVALID_TOKEN_REASONS.length);
      expect(new Set(errors.map((e) => e.hint)).size).toBe(INVALID_TOKEN_REASONS.length);
    });

    it.each([
      ['unknown', /not known/],
      ['revoked', /revoked/],
      ['expired', /expired/],
      ['wrong-upstream', /not valid for this database/],
      ['bad-secret', /wrong secret/],
      ['role-changed', /role that no longer exists/],
      ['malformed', /not a well-formed token id/],
    ] as const)('%s says why', (reason, why) => {
      expect(PgError.invalidToken(reason, 'at_x').message).toMatch(why);
    });

    it('quotes the token id so odd characters cannot pass for message text', () => {
      expect(PgError.invalidToken('malformed', 'a" is fine "b').message).toContain('"a\\" is fine \\"b"');
    });
  });

  describe('sessionTokenEnded', () => {
    it('distinguishes expiry from revocation in message and hint', () => {
      const expired = PgError.sessionTokenEnded('expired', 'at_x');
      const revoked = PgError.sessionTokenEnded('revoked', 'at_x');
      expect(expired.message).toBe('token "at_x" expired; session ended');
      expect(revoked.message).toBe('token "at_x" was revoked; session ended');
      expect(expired.hint).toMatch(/new token/);
      expect(revoked.hint).toMatch(/ask/i);
    });
  });

  describe('unknownUpstream', () => {
    it.each([undefined, ''])(
      'explains that the database name selects the upstream when it is %j',
      (database) => {
        const error = PgError.unknownUpstream(database);
        expect(error.code).toBe('3D000');
        expect(error.message).toMatch(/no database given/);
        expect(error.hint).toMatch(/dbname/);
      },
    );

    it('names an upstream that does not exist', () => {
      expect(PgError.unknownUpstream('shop').message).toBe('upstream "shop" does not exist');
    });
  });
});
