/** Audit search queries (pure): filters given as text (CLI options, URL parameters) parsed and validated, and the paging cursor. */
import { AUDIT_EVENT_KINDS, type AuditEventKind, isAuditEventKind } from './audit-event.js';

/** Events per page when no limit is given. */
export const AUDIT_SEARCH_DEFAULT_LIMIT = 100;
/** Largest page a search may ask for. */
export const AUDIT_SEARCH_MAX_LIMIT = 1000;

/** What the guard decided for a statement (`what.decision` of `statement.decided`). */
export const STATEMENT_DECISIONS = ['allow', 'deny', 'approve'] as const;
export type StatementDecision = (typeof STATEMENT_DECISIONS)[number];

/** Newest first (the default) or oldest first; ties on time are broken by instance, then seq. */
export const AUDIT_SEARCH_ORDERS = ['newest', 'oldest'] as const;
export type AuditSearchOrder = (typeof AUDIT_SEARCH_ORDERS)[number];

/** A position in the search order: the last event of a page (its stored time, instance and seq). */
export interface AuditCursor {
  readonly atMs: number;
  readonly instance: string;
  readonly seq: number;
}

/** A validated search; every filter is optional and all given filters must hold (AND). */
export interface AuditSearchQuery {
  readonly instance?: string;
  /** Exact `who.subject`. */
  readonly subject?: string;
  /** Exact `who.role`. */
  readonly role?: string;
  /** Exact `who.tokenId`. */
  readonly tokenId?: string;
  /** Exact `why.runId`. */
  readonly runId?: string;
  /** Exact `where.sessionId`. */
  readonly sessionId?: string;
  /** Any of these kinds. */
  readonly kinds?: readonly AuditEventKind[];
  /** An entry of `what.tables`: `schema.table` exactly, or a bare name matching `<any schema>.name` (and `name`). */
  readonly table?: string;
  /** Exact `what.decision`. */
  readonly decision?: StatementDecision;
  /** Events at or after this time (epoch ms). */
  readonly sinceMs?: number;
  /** Events strictly before this time (epoch ms). */
  readonly untilMs?: number;
  /** Case-insensitive (ASCII) substring of `what.sql`, taken literally (no wildcards). */
  readonly text?: string;
  /** 1..AUDIT_SEARCH_MAX_LIMIT. */
  readonly limit: number;
  readonly order: AuditSearchOrder;
  /** Continue after this position (from the previous page's nextCursor). */
  readonly after?: AuditCursor;
}

/** One page of a search; nextCursor is null on the last page. */
export interface AuditSearchPage<E> {
  readonly events: E[];
  readonly nextCursor: AuditCursor | null;
}

/** The fields a search is written with (URL parameter names; the CLI maps its options to them). */
export const AUDIT_SEARCH_FIELDS = [
  'instance',
  'subject',
  'role',
  'tokenId',
  'runId',
  'sessionId',
  'kind',
  'table',
  'decision',
  'text',
  'since',
  'until',
  'limit',
  'order',
  'cursor',
] as const;
export type AuditSearchField = (typeof AUDIT_SEARCH_FIELDS)[number];

/** A search as written: each field once, except `kind` (repeatable, and each value may be a comma list). */
export type AuditSearchInput = Partial<Record<AuditSearchField, string | readonly string[]>>;

/** A search field has a value that cannot be used; the message names the field as the user wrote it and the fix. */
export class AuditSearchError extends Error {
  override readonly name = 'AuditSearchError';
  constructor(
    /** The field at fault. */
    readonly field: AuditSearchField,
    message: string,
  ) {
    super(message);
  }
}

/** True when `name` is one of AUDIT_SEARCH_FIELDS. */
export function isAuditSearchField(name: string): name is AuditSearchField {
  return (AUDIT_SEARCH_FIELDS as readonly string[]).includes(name);
}

/**
 * Validates a search written as text. `label` says how a field is named where the user wrote it
 * (`--run` on the command line, `runId` in a URL), so errors point at what to change.
 */
export function parseAuditSearch(
  input: AuditSearchInput,
  label: (field: AuditSearchField) => string = (field) => field,
): AuditSearchQuery {
  const fail = (field: AuditSearchField, problem: string, fix: string): never => {
    throw new AuditSearchError(field, `${label(field)} ${problem}; ${fix}`);
  };
  const one = (field: AuditSearchField): string | undefined => {
    const value = input[field];
    if (value === undefined) return undefined;
    const values = typeof value === 'string' ? [value] : value;
    if (values.length === 0) return undefined;
    if (values.length > 1) fail(field, 'is given more than once', 'give it once');
    const text = values[0] ?? '';
    if (text === '') fail(field, 'is empty', 'give a value or leave it out to match any');
    return text;
  };

  const query: {
    -readonly [K in keyof AuditSearchQuery]: AuditSearchQuery[K];
  } = { limit: AUDIT_SEARCH_DEFAULT_LIMIT, order: 'newest' };
  const exact = ['instance', 'subject', 'role', 'tokenId', 'runId', 'sessionId', 'text'] as const;
  for (const field of exact) {
    const value = one(field);
    if (value !== undefined) query[field] = value;
  }

  const kinds = parseKinds(input.kind, label, fail);
  if (kinds !== undefined) query.kinds = kinds;

  const table = one('table');
  if (table !== undefined) {
    const parts = table.split('.');
    if (parts.length > 2 || parts.some((part) => part === '')) {
      fail(
        'table',
        `${quote(table)} is not a table name`,
        'write schema.table (e.g. public.orders) or table',
      );
    }
    query.table = table;
  }

  const decision = one('decision');
  if (decision !== undefined) {
    if (!(STATEMENT_DECISIONS as readonly string[]).includes(decision)) {
      fail(
        'decision',
        `${quote(decision)} is not a decision`,
        `use one of: ${STATEMENT_DECISIONS.join(', ')}`,
      );
    }
    query.decision = decision as StatementDecision;
  }

  for (const field of ['since', 'until'] as const) {
    const text = one(field);
    if (text === undefined) continue;
    const ms = parseIsoTime(text);
    if (ms === undefined) {
      fail(
        field,
        `${quote(text)} is not an ISO 8601 date or date-time with a zone`,
        'write e.g. 2024-05-01 or 2024-05-01T12:00:00Z (in a URL, write + as %2B)',
      );
    }
    query[field === 'since' ? 'sinceMs' : 'untilMs'] = ms;
  }
  if (query.sinceMs !== undefined && query.untilMs !== undefined && query.untilMs <= query.sinceMs) {
    fail('until', `is not after ${label('since')}`, 'give a later time, or swap the two');
  }

  const limit = one('limit');
  if (limit !== undefined) {
    const n = /^\d{1,7}$/.test(limit) ? Number(limit) : Number.NaN;
    if (!(n >= 1 && n <= AUDIT_SEARCH_MAX_LIMIT)) {
      fail(
        'limit',
        `${quote(limit)} is not a whole number from 1 to ${AUDIT_SEARCH_MAX_LIMIT}`,
        `write e.g. ${AUDIT_SEARCH_DEFAULT_LIMIT}, and page with the cursor for more`,
      );
    }
    query.limit = n;
  }

  const order = one('order');
  if (order !== undefined) {
    if (!(AUDIT_SEARCH_ORDERS as readonly string[]).includes(order)) {
      fail('order', `${quote(order)} is not an order`, `use one of: ${AUDIT_SEARCH_ORDERS.join(', ')}`);
    }
    query.order = order as AuditSearchOrder;
  }

  const cursor = one('cursor');
  if (cursor !== undefined) {
    const after = decodeAuditCursor(cursor);
    if (after === undefined) {
      fail(
        'cursor',
        'is not a cursor this gateway issued',
        'pass nextCursor from the previous page unchanged',
      );
    }
    query.after = after;
  }
  return query;
}

function parseKinds(
  value: string | readonly string[] | undefined,
  label: (field: AuditSearchField) => string,
  fail: (field: AuditSearchField, problem: string, fix: string) => never,
): AuditEventKind[] | undefined {
  if (value === undefined) return undefined;
  const written = (typeof value === 'string' ? [value] : value).flatMap((text) => text.split(','));
  if (written.length === 0) return undefined;
  const kinds = new Set<AuditEventKind>();
  for (const raw of written) {
    const kind = raw.trim();
    if (kind === '')
      fail('kind', 'has an empty entry', `write kinds separated by commas, or repeat ${label('kind')}`);
    if (!isAuditEventKind(kind)) {
      fail('kind', `${quote(kind)} is not an event kind`, `use one of: ${AUDIT_EVENT_KINDS.join(', ')}`);
    }
    kinds.add(kind);
  }
  return [...kinds];
}

const ISO_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-](\d{2}):(\d{2})))?$/;

/**
 * Epoch ms of `YYYY-MM-DD` (midnight UTC) or a date-time with seconds optional and a zone (`Z` or
 * `±hh:mm`); undefined for anything else, including impossible dates such as 2024-02-30 that
 * Date.parse would roll over.
 */
export function parseIsoTime(text: string): number | undefined {
  const match = ISO_TIME.exec(text);
  if (match === null) return undefined;
  // Absent optional parts count as 0 (midnight, zero seconds, UTC).
  const [year, month, day, hour, minute, second, offsetHour, offsetMinute] = [1, 2, 3, 4, 5, 6, 8, 9].map(
    (group) => Number(match[group] ?? 0),
  ) as [number, number, number, number, number, number, number, number];
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth) return undefined;
  if (hour > 23 || minute > 59 || second > 59 || offsetHour > 23 || offsetMinute > 59) return undefined;
  const ms = Date.parse(text.length === 10 ? `${text}T00:00:00Z` : text);
  return Number.isNaN(ms) ? undefined : ms;
}

/** The opaque text form of a cursor (base64url of `[atMs, instance, seq]`). */
export function encodeAuditCursor(cursor: AuditCursor): string {
  return Buffer.from(JSON.stringify([cursor.atMs, cursor.instance, cursor.seq]), 'utf8').toString(
    'base64url',
  );
}

/** The cursor `text` encodes, or undefined when it is not one. */
export function decodeAuditCursor(text: string): AuditCursor | undefined {
  if (!/^[A-Za-z0-9_-]{1,1400}$/.test(text)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(value) || value.length !== 3) return undefined;
  const [atMs, instance, seq] = value as unknown[];
  if (!Number.isSafeInteger(atMs) || typeof instance !== 'string' || instance === '') return undefined;
  if (!Number.isSafeInteger(seq) || (seq as number) < 1) return undefined;
  return { atMs: atMs as number, instance, seq: seq as number };
}

/** Quotes a value the user wrote, shortened. */
function quote(value: string): string {
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}..."` : text;
}
