/**
 * PgError: the only error that reaches an agent. Built by named constructors with fixed SQLSTATEs;
 * every message says what to do next. Listed in docs/errors.md (a test keeps that true).
 * https://www.postgresql.org/docs/15/errcodes-appendix.html
 */

export type PgSeverity = 'ERROR' | 'FATAL' | 'NOTICE' | 'WARNING';

export interface PgErrorFields {
  readonly severity: PgSeverity;
  /** SQLSTATE, five characters. */
  readonly code: string;
  readonly message: string;
  readonly detail?: string;
  readonly hint?: string;
}

/** An error the gateway sends to the agent as an ErrorResponse (or NoticeResponse). */
export class PgError extends Error {
  readonly severity: PgSeverity;
  readonly code: string;
  readonly detail: string | undefined;
  readonly hint: string | undefined;

  constructor(fields: PgErrorFields) {
    super(fields.message);
    this.name = 'PgError';
    this.severity = fields.severity;
    this.code = fields.code;
    this.detail = fields.detail;
    this.hint = fields.hint;
  }

  /** Agent sent bytes that are not valid protocol 3.0 (08P01); the connection is closed. */
  static protocolViolation(what: string): PgError {
    return new PgError({
      severity: 'FATAL',
      code: '08P01',
      message: `protocol violation: ${what}`,
      hint: 'Use a PostgreSQL client or driver that speaks protocol 3.0 (psql, libpq, pg, postgres.js, JDBC).',
    });
  }

  /** A single message exceeded limits.max_message_size (08P01). */
  static messageTooLarge(bytes: number, limit: number): PgError {
    return new PgError({
      severity: 'FATAL',
      code: '08P01',
      message: `message of ${bytes} bytes exceeds the gateway limit of ${limit} bytes`,
      hint: 'Send smaller statements or COPY chunks, or ask the operator to raise limits.max_message_size.',
    });
  }

  /** The client took too long to authenticate (08P01). */
  static startupTimeout(seconds: number): PgError {
    return new PgError({
      severity: 'FATAL',
      code: '08P01',
      message: `connection startup did not complete within ${seconds} s`,
      hint: 'Connect and authenticate promptly; check network latency to the gateway.',
    });
  }

  /** Token could not be used: unknown, revoked, expired, wrong secret or another upstream (28P01). */
  static invalidToken(reason: InvalidTokenReason, tokenId: string): PgError {
    const text = INVALID_TOKEN_TEXT[reason];
    return new PgError({
      severity: 'FATAL',
      code: '28P01',
      message: `token ${JSON.stringify(tokenId)} ${text.message}`,
      hint: text.hint,
    });
  }

  /** The session's token expired or was revoked while the session ran (28P01). */
  static sessionTokenEnded(reason: 'expired' | 'revoked', tokenId: string): PgError {
    return new PgError({
      severity: 'FATAL',
      code: '28P01',
      message: `token ${JSON.stringify(tokenId)} ${reason === 'expired' ? 'expired' : 'was revoked'}; session ended`,
      hint:
        reason === 'expired'
          ? 'Issue a new token (airlock token issue) and reconnect.'
          : 'An operator revoked this token; ask them before reconnecting.',
    });
  }

  /** Authentication method or message not acceptable (28000). */
  static authenticationRejected(message: string, hint: string): PgError {
    return new PgError({ severity: 'FATAL', code: '28000', message, hint });
  }

  /** Plaintext connection refused: TLS is required from this address (28000). */
  static tlsRequired(): PgError {
    return new PgError({
      severity: 'FATAL',
      code: '28000',
      message: 'the gateway requires TLS for connections from non-loopback addresses',
      hint: 'Connect with sslmode=require (or verify-full) — the gateway must have tls.cert and tls.key configured.',
    });
  }

  /** The startup packet named no upstream, or one that does not exist (3D000). */
  static unknownUpstream(database: string | undefined): PgError {
    return new PgError({
      severity: 'FATAL',
      code: '3D000',
      message:
        database === undefined || database === ''
          ? 'no database given: the database name selects the upstream'
          : `upstream ${JSON.stringify(database)} does not exist`,
      hint: 'Connect with dbname set to the upstream your token was issued for (see `airlock token list`).',
    });
  }

  /** A startup parameter that could change the session's identity or safety was sent (42501). */
  static startupParameterRefused(name: string): PgError {
    return new PgError({
      severity: 'FATAL',
      code: '42501',
      message: `startup parameter ${JSON.stringify(name)} is not allowed through the gateway`,
      hint: 'Remove it from the connection string (PGOPTIONS, options=, replication=); session settings are set by the gateway.',
    });
  }

  /** The upstream database could not be reached or refused the gateway (08006). */
  static upstreamUnavailable(upstream: string): PgError {
    return new PgError({
      severity: 'FATAL',
      code: '08006',
      message: `upstream ${JSON.stringify(upstream)} is unavailable`,
      hint: 'Retry shortly; if it persists, the operator should check the gateway log for this session id.',
    });
  }

  /** Too many agent connections (53300). */
  static tooManyConnections(limit: number): PgError {
    return new PgError({
      severity: 'FATAL',
      code: '53300',
      message: `the gateway is at its limit of ${limit} connection${limit === 1 ? '' : 's'}`,
      hint: 'Retry later, close idle sessions, or ask the operator to raise limits.max_connections.',
    });
  }

  /** The gateway is shutting down (57P01). */
  static shuttingDown(): PgError {
    return new PgError({
      severity: 'FATAL',
      code: '57P01',
      message: 'the gateway is shutting down',
      hint: 'Reconnect in a moment; another gateway instance or the restarted one will take the session.',
    });
  }

  /** Something unexpected happened inside the gateway; details are in its log under the session id (XX000). */
  static internal(sessionId: string): PgError {
    return new PgError({
      severity: 'FATAL',
      code: 'XX000',
      message: `internal gateway error (session ${sessionId})`,
      hint: 'Report the session id to the operator; the gateway log has the details.',
    });
  }

  /** The guard refused the statement (42501). Used by the policy step. */
  static statementDenied(message: string, hint: string, code = '42501'): PgError {
    return new PgError({ severity: 'ERROR', code, message, hint });
  }
}

export type InvalidTokenReason =
  | 'unknown'
  | 'revoked'
  | 'expired'
  | 'wrong-upstream'
  | 'bad-secret'
  | 'role-changed'
  | 'malformed';

const INVALID_TOKEN_TEXT: Record<InvalidTokenReason, { message: string; hint: string }> = {
  unknown: {
    message: 'is not known to this gateway',
    hint: 'Use the user and password printed by `airlock token issue` (user is the token id, password its secret).',
  },
  revoked: {
    message: 'was revoked',
    hint: 'Ask the operator why, then issue a new token with `airlock token issue`.',
  },
  expired: {
    message: 'has expired',
    hint: 'Issue a new token with `airlock token issue` and reconnect.',
  },
  'wrong-upstream': {
    message: 'is not valid for this database',
    hint: "Connect with dbname set to the upstream of the token's role (see `airlock token list`).",
  },
  'bad-secret': {
    message: 'was presented with the wrong secret',
    hint: 'Use the password printed by `airlock token issue` together with its token id as the user.',
  },
  'role-changed': {
    message: 'was issued for a role that no longer exists or now names another upstream',
    hint: 'The gateway configuration changed since the token was issued; issue a new token with `airlock token issue`.',
  },
  malformed: {
    message: 'is not a well-formed token id',
    hint: 'The user name must be the token id (at_…) printed by `airlock token issue`.',
  },
};
