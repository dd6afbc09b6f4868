/** One audit event as one line of terminal text (for `airlock audit search`), safe to print whatever the event holds. */
import type { ChainedAuditEvent } from './audit-event.js';

/** Longest SQL excerpt on a line. */
const SQL_WIDTH = 80;

/**
 * `at  instance#seq  kind  subject  decision  tables  sql`, '-' for what the event lacks. The
 * decision column shows `what.decision`, or `what.outcome` for statement.finished.
 */
export function formatAuditEventLine(event: ChainedAuditEvent): string {
  const what = event.what ?? {};
  const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined);
  const tables = Array.isArray(what.tables) ? what.tables.filter((t) => typeof t === 'string') : [];
  const sql = text(what.sql);
  return [
    event.at,
    `${event.instance}#${event.seq}`,
    event.kind,
    text(event.who?.subject) ?? '-',
    text(what.decision) ?? text(what.outcome) ?? '-',
    tables.length > 0 ? tables.join(',') : '-',
    sql === undefined ? '' : truncate(sql, SQL_WIDTH),
  ]
    .map(terminalSafe)
    .join('  ')
    .trimEnd();
}

/**
 * One line of visible text: whitespace runs become one space, and control and format characters
 * (escape sequences, bidi overrides an agent might put in its SQL) become '?', so nothing in an
 * event can move the cursor, recolour or reorder the auditor's terminal.
 */
export function terminalSafe(value: string): string {
  return value.replace(/\s+/gu, ' ').replace(/[\p{Cc}\p{Cf}]/gu, '?');
}

function truncate(value: string, width: number): string {
  const oneLine = value.replace(/\s+/gu, ' ').trim();
  const chars = [...oneLine];
  return chars.length <= width ? oneLine : `${chars.slice(0, width - 1).join('')}…`;
}
