/**
 * The PostgreSQL parser (libpg-query, the server's own grammar compiled to WASM): SQL text → one parse
 * tree per statement. Loading the WASM module is the one asynchronous step, done once at start.
 */
import { loadModule, parseSync, scanSync } from 'libpg-query';

/** A parsed message: one wrapped parse node per statement (`{ SelectStmt: {…} }`), or why it failed. */
export type ParsedStatements =
  | { readonly ok: true; readonly stmts: Array<{ readonly node: Record<string, unknown> }> }
  | { readonly ok: false; readonly reason: string };

let loaded = false;
let loading: Promise<void> | undefined;

/** Loads the parser's WASM module; later calls return at once. */
export async function loadSqlParser(): Promise<void> {
  if (loaded) return;
  loading ??= loadModule().then(() => {
    loaded = true;
  });
  try {
    await loading;
  } catch (error) {
    loading = undefined;
    throw error;
  }
}

/** Parses `sql` into its statements; never throws (not loaded, NUL bytes and syntax errors are reasons). */
export function parseSqlStatements(sql: string): ParsedStatements {
  if (!loaded) return { ok: false, reason: 'the SQL parser is not loaded' };
  // The parser reads a C string: text after a NUL would be invisible to it.
  if (sql.includes('\u0000')) return { ok: false, reason: 'the SQL text contains a NUL character' };
  if (sql.length === 0) return { ok: true, stmts: [] };
  let tree: unknown;
  try {
    tree = parseSync(sql);
  } catch (error) {
    return { ok: false, reason: describeParseError(sql, error) };
  }
  const raw = typeof tree === 'object' && tree !== null ? (tree as { stmts?: unknown }).stmts : undefined;
  const stmts: Array<{ node: Record<string, unknown> }> = [];
  for (const rawStmt of Array.isArray(raw) ? raw : []) {
    const node =
      typeof rawStmt === 'object' && rawStmt !== null ? (rawStmt as { stmt?: unknown }).stmt : undefined;
    if (typeof node !== 'object' || node === null || Array.isArray(node)) {
      return { ok: false, reason: 'the parser returned a statement without a parse tree' };
    }
    stmts.push({ node: node as Record<string, unknown> });
  }
  return { ok: true, stmts };
}

/** The parser's message, the 1-based character position, and which statement of the text it is in. */
function describeParseError(sql: string, error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const details = (error as { sqlDetails?: { cursorPosition?: unknown } } | null)?.sqlDetails;
  const position = typeof details?.cursorPosition === 'number' ? details.cursorPosition : undefined;
  if (position === undefined) return `cannot parse the SQL: ${message}`;
  const statement = statementNumberAt(sql, position);
  const where = statement === undefined ? '' : `statement ${statement}: `;
  return `${where}${message} (at character ${position + 1})`;
}

/** 1-based number of the statement containing character `position` (a code point index), if scannable. */
function statementNumberAt(sql: string, position: number): number | undefined {
  const prefix = Array.from(sql).slice(0, position).join('');
  if (prefix.trim().length === 0) return 1;
  try {
    const tokens = scanSync(prefix).tokens;
    return tokens.filter((token) => token.text === ';').length + 1;
  } catch {
    return undefined;
  }
}
