/** The parser wrapper: statements as parse nodes, and failures as reasons, never exceptions. */
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { loadSqlParser, parseSqlStatements } from './sql-parser.js';

describe('parseSqlStatements before loadSqlParser', () => {
  it('refuses instead of throwing', async () => {
    vi.resetModules();
    const fresh = await import('./sql-parser.js');
    expect(fresh.parseSqlStatements('select 1')).toEqual({
      ok: false,
      reason: 'the SQL parser is not loaded',
    });
  });
});

describe('parseSqlStatements', () => {
  beforeAll(async () => {
    await loadSqlParser();
    await loadSqlParser(); // idempotent
  });

  it('returns one wrapped parse node per statement', () => {
    const parsed = parseSqlStatements('select 1; drop table x');
    expect(parsed.ok && parsed.stmts.map(({ node }) => Object.keys(node))).toEqual([
      ['SelectStmt'],
      ['DropStmt'],
    ]);
  });

  it('returns no statement for empty text and comments', () => {
    expect(parseSqlStatements('')).toEqual({ ok: true, stmts: [] });
    expect(parseSqlStatements(' -- nothing\n/* at all */ ;')).toEqual({ ok: true, stmts: [] });
  });

  it('names the statement and the 1-based character of a syntax error', () => {
    expect(parseSqlStatements("select 'é'; selec 1")).toEqual({
      ok: false,
      reason: 'statement 2: syntax error at or near "selec" (at character 13)',
    });
    expect(parseSqlStatements('selec 1')).toEqual({
      ok: false,
      reason: 'statement 1: syntax error at or near "selec" (at character 1)',
    });
  });

  it('counts only semicolons that end statements, not those in strings or comments', () => {
    const parsed = parseSqlStatements("select ';' /* ; */; select $$;$$; selec 1");
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.reason).toMatch(/^statement 3: /);
  });

  it('reports a lexical error (unterminated string) with its position', () => {
    expect(parseSqlStatements("select 1; select 'abc")).toEqual({
      ok: false,
      reason: 'statement 2: unterminated quoted string at or near "\'abc" (at character 18)',
    });
  });

  it('refuses text with a NUL character, which the C parser would silently cut', () => {
    expect(parseSqlStatements('select 1\u0000; drop table x')).toEqual({
      ok: false,
      reason: 'the SQL text contains a NUL character',
    });
  });
});
