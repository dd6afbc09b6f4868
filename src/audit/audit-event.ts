/** The audit event shape: what a caller records (body) and what the chain stores (chained event). */

/** A JSON value with an unambiguous canonical form: safe integers only, no floats, no undefined. */
export type JsonValue = null | boolean | string | number | JsonValue[] | { [key: string]: JsonValue };

/** Every kind of event the gateway records. */
export const AUDIT_EVENT_KINDS = [
  'token.issued',
  'token.revoked',
  'token.exchanged',
  'connection.accepted',
  'connection.refused',
  'session.started',
  'session.ended',
  'statement.decided',
  'statement.finished',
  'approval.requested',
  'approval.decided',
  'config.loaded',
] as const;

/** One of AUDIT_EVENT_KINDS. */
export type AuditEventKind = (typeof AUDIT_EVENT_KINDS)[number];

/** True when `value` names a known event kind. */
export function isAuditEventKind(value: unknown): value is AuditEventKind {
  return typeof value === 'string' && KINDS.has(value);
}

const KINDS: ReadonlySet<string> = new Set(AUDIT_EVENT_KINDS);

/** Who acted: the token and its identity claims (repo, workflow, run id, actor …). */
export interface AuditWho {
  tokenId?: string;
  subject?: string;
  role?: string;
  claims?: Record<string, string>;
}

/** Why: the reason the token was issued for (PR, ticket) and the CI run, if any. */
export interface AuditWhy {
  reason?: string;
  runId?: string | null;
}

/** Where: gateway instance, client address, upstream name, session. */
export interface AuditWhere {
  instance?: string;
  client?: string;
  upstream?: string;
  sessionId?: string;
}

/** What a caller records. `what` holds kind-specific fields (statement, decision, rule, rows …). */
export interface AuditEventBody {
  kind: AuditEventKind;
  /** ISO 8601, gateway clock. */
  at: string;
  who?: AuditWho;
  why?: AuditWhy;
  where?: AuditWhere;
  what?: Record<string, JsonValue>;
}

/** A body as stored in the chain of one gateway instance. */
export interface ChainedAuditEvent extends AuditEventBody {
  instance: string;
  /** 1-based, contiguous per instance. */
  seq: number;
  /** Hex SHA-256 of the previous event; for seq 1, genesisHash(instance). */
  prevHash: string;
  /** Hex SHA-256 of canonicalJson of every other field of this event. */
  hash: string;
}

/** A chained event before its own hash is computed. */
export type UnhashedAuditEvent = Omit<ChainedAuditEvent, 'hash'>;
