/** The SQLite statement for an audit search: filters on the stored JSON bodies, every value a bound parameter. */
import { AUDIT_SEARCH_MAX_LIMIT, type AuditSearchQuery } from '../audit/audit-search.js';

/** SQL text plus its parameters, in order. */
export interface SqliteQuery {
  readonly sql: string;
  readonly params: readonly (string | number)[];
}

/** A row of the search: the body as stored and the copies that make the cursor. */
export interface AuditSearchRow {
  readonly instance: string;
  readonly seq: number;
  readonly at_ms: number;
  readonly body: string;
}

// The JSON paths are constants, written exactly as in the expression indexes (migration 3) so that
// SQLite can use them; only values travel as parameters.
const SUBJECT = "json_extract(body, '$.who.subject')";
const RUN_ID = "json_extract(body, '$.why.runId')";
const SESSION_ID = "json_extract(body, '$.where.sessionId')";

/** The SELECT for `query`, fetching one row more than the limit so the caller knows whether a next page exists. */
export function buildAuditSearchQuery(query: AuditSearchQuery): SqliteQuery {
  if (!Number.isSafeInteger(query.limit) || query.limit < 1 || query.limit > AUDIT_SEARCH_MAX_LIMIT) {
    throw new RangeError(`audit search: limit must be 1..${AUDIT_SEARCH_MAX_LIMIT}, got ${query.limit}`);
  }
  const where: string[] = [];
  const params: (string | number)[] = [];
  const add = (condition: string, ...values: (string | number)[]) => {
    where.push(condition);
    params.push(...values);
  };
  if (query.instance !== undefined) add('instance = ?', query.instance);
  if (query.subject !== undefined) add(`${SUBJECT} = ?`, query.subject);
  if (query.role !== undefined) add("json_extract(body, '$.who.role') = ?", query.role);
  if (query.tokenId !== undefined) add("json_extract(body, '$.who.tokenId') = ?", query.tokenId);
  if (query.runId !== undefined) add(`${RUN_ID} = ?`, query.runId);
  if (query.sessionId !== undefined) add(`${SESSION_ID} = ?`, query.sessionId);
  if (query.kinds !== undefined && query.kinds.length > 0) {
    // One parameter whatever the number of kinds: they travel as a JSON array.
    add("json_extract(body, '$.kind') IN (SELECT value FROM json_each(?))", JSON.stringify(query.kinds));
  }
  if (query.table !== undefined) {
    if (query.table.includes('.')) {
      add("EXISTS (SELECT 1 FROM json_each(body, '$.what.tables') AS t WHERE t.value = ?)", query.table);
    } else {
      // A bare name matches it in any schema: the entry equals it or ends with ".name".
      const suffix = `.${query.table}`;
      add(
        "EXISTS (SELECT 1 FROM json_each(body, '$.what.tables') AS t WHERE t.value = ? OR substr(t.value, -length(?)) = ?)",
        query.table,
        suffix,
        suffix,
      );
    }
  }
  if (query.decision !== undefined) add("json_extract(body, '$.what.decision') = ?", query.decision);
  if (query.text !== undefined) {
    // instr, not LIKE: % and _ in the text are literal. lower() folds ASCII only, on both sides alike.
    add("instr(lower(json_extract(body, '$.what.sql')), lower(?)) > 0", query.text);
  }
  if (query.sinceMs !== undefined) add('at_ms >= ?', query.sinceMs);
  if (query.untilMs !== undefined) add('at_ms < ?', query.untilMs);
  const newest = query.order === 'newest';
  if (query.after !== undefined) {
    const { atMs, instance, seq } = query.after;
    add(`(at_ms, instance, seq) ${newest ? '<' : '>'} (?, ?, ?)`, atMs, instance, seq);
  }
  const direction = newest ? 'DESC' : 'ASC';
  const sql = [
    'SELECT instance, seq, at_ms, body FROM audit_events',
    where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`,
    `ORDER BY at_ms ${direction}, instance ${direction}, seq ${direction}`,
    'LIMIT ?',
  ]
    .filter((part) => part !== '')
    .join(' ');
  return { sql, params: [...params, query.limit + 1] };
}
