/** referencedRelations: every relation a statement names, as the candidates the server would search. */
import { beforeAll, describe, expect, it } from 'vitest';
import { loadSqlParser, parseSqlStatements } from '../../policy/sql-parser.js';
import { referencedRelations } from './referenced-relations.js';

beforeAll(async () => {
  await loadSqlParser();
});

function names(sql: string, searchPath: readonly string[] = ['public']): string[] {
  const parsed = parseSqlStatements(sql);
  if (!parsed.ok || parsed.stmts[0] === undefined) throw new Error('parse');
  return referencedRelations(parsed.stmts[0].node, searchPath)
    .map((r) => `${r.schema}.${r.name}`)
    .sort();
}

describe('referencedRelations', () => {
  it('FROM items, joins, subqueries and sublinks', () => {
    expect(
      names(
        'SELECT * FROM a JOIN s.b USING (id) WHERE EXISTS (SELECT 1 FROM (SELECT * FROM c) x) AND id IN (TABLE d)',
      ),
    ).toEqual(['pg_temp.a', 'pg_temp.c', 'pg_temp.d', 'public.a', 'public.c', 'public.d', 's.b']);
  });

  it('one candidate per search_path schema, the temporary schema first', () => {
    expect(names('SELECT 1 FROM t', ['app', 'public'])).toEqual(['app.t', 'pg_temp.t', 'public.t']);
    expect(names('SELECT 1 FROM t', ['app', 'pg_temp', 'public'])).toEqual([
      'app.t',
      'pg_temp.t',
      'public.t',
    ]);
  });

  it('catalog relation names resolve in pg_catalog', () => {
    expect(names('SELECT * FROM pg_class')).toEqual(['pg_catalog.pg_class', 'pg_temp.pg_class']);
  });

  it('statement targets, CTE bodies and COPY', () => {
    expect(names('WITH x AS (SELECT * FROM src) INSERT INTO public.dst SELECT * FROM x RETURNING *')).toEqual(
      ['pg_temp.src', 'pg_temp.x', 'public.dst', 'public.src', 'public.x'],
    );
    expect(names('COPY s.t TO STDOUT')).toEqual(['s.t']);
  });

  it('an empty search_path leaves the temporary schema and pg_catalog', () => {
    expect(names('SELECT 1 FROM t', [])).toEqual(['pg_catalog.t', 'pg_temp.t']);
  });
});
