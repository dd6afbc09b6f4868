/**
 * The key a `scope: run` approval covers: the role, each held statement's parse tree (so spacing, case of
 * keywords and comments do not matter, but every name and constant does) and its bound values.
 */
import { createHash } from 'node:crypto';
import type { JsonValue } from '../audit/audit-event.js';
import { canonicalJson } from '../audit/canonical-json.js';
import { parseSqlStatements } from '../policy/sql-parser.js';

/** One statement as sent: its SQL and its bound values exactly (never the masked record of them). */
export interface ScopedStatement {
  readonly sql: string;
  readonly params?: readonly (string | null)[];
  /** The digest of every value in full, when `params` holds cut values. */
  readonly paramsDigest?: string;
}

/** Hex SHA-256 identifying these statements for this role; equal only for the same statements and values. */
export function runScopeKey(role: string, statements: readonly ScopedStatement[]): string {
  const shape: JsonValue = [
    role,
    statements.map((statement) => [
      statementShape(statement.sql),
      statement.params === undefined ? null : [...statement.params],
      statement.paramsDigest ?? null,
    ]),
  ];
  return createHash('sha256').update(canonicalJson(shape)).digest('hex');
}

/** The parse trees without source positions; the text itself when it does not parse. */
function statementShape(sql: string): JsonValue {
  const parsed = parseSqlStatements(sql);
  if (!parsed.ok) return { text: sql };
  return withoutLocations(parsed.stmts.map((s) => s.node) as unknown as JsonValue);
}

function withoutLocations(node: JsonValue): JsonValue {
  if (Array.isArray(node)) return node.map(withoutLocations);
  if (node === null || typeof node !== 'object') return node;
  const copy: { [key: string]: JsonValue } = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'location' || key === 'stmt_location' || key === 'stmt_len') continue;
    copy[key] = withoutLocations(value);
  }
  return copy;
}
