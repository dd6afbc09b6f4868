/**
 * The security property of lineage: however a masked column is wrapped (functions, casts, CASE,
 * aggregates, subqueries, CTEs, LATERAL, UNION), the result column's lineage contains it or is opaque.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadSqlParser, parseSqlStatements } from '../../policy/sql-parser.js';
import type { CatalogSnapshot, StatementLineage } from './lineage-types.js';
import { statementLineage } from './statement-lineage.js';

beforeAll(async () => {
  await loadSqlParser();
});

const CATALOG: CatalogSnapshot = {
  relation: (schema, name) =>
    schema === 'public' && name === 'customers'
      ? { schema, name, kind: 'table', columns: ['id', 'name', 'email', 'ssn'] }
      : schema === 'public' && name === 'customer_ssns'
        ? {
            schema,
            name,
            kind: 'view',
            columns: ['id', 'tax_id'],
            viewQuery: 'SELECT id, ssn AS tax_id FROM customers',
          }
        : undefined,
};

const WRAPPERS: ReadonlyArray<(x: string) => string> = [
  (x) => `lower(${x})`,
  (x) => `upper(${x})`,
  (x) => `coalesce(${x}, 'a')`,
  (x) => `concat('a', ${x})`,
  (x) => `CAST(${x} AS text)`,
  (x) => `(${x})::varchar`,
  (x) => `CASE WHEN ${x} IS NULL THEN 'a' ELSE ${x} END`,
  (x) => `CASE WHEN ${x} = 'z' THEN 'yes' ELSE 'no' END`,
  (x) => `substring(${x} FROM 1 FOR 2)`,
  (x) => `array_agg(${x})::text`,
  (x) => `string_agg(${x}, ',')`,
  (x) => `json_build_object('k', ${x})::text`,
  (x) => `(SELECT ${x})`,
  (x) => `(SELECT max(s) FROM (SELECT ${x} AS s) q)`,
  (x) => `(SELECT v FROM (VALUES (${x})) t(v))`,
  (x) => `${x} || 'b'`,
  (x) => `ROW(${x})::text`,
  (x) => `(ARRAY[${x}])[1]`,
  (x) => `nullif(${x}, 'a')`,
  (x) => `EXISTS (SELECT 1 WHERE ${x} = 'a')`,
  (x) => `md5(${x})`,
  (x) => `to_jsonb(${x})::text`,
];

/** Expressions that read the masked column (directly, through the whole row, through a view). */
const BASES = ['ssn', 'c.ssn', 'row_to_json(c)::text', '(c).ssn', 'customers.ssn'];

/** Statements placing the expression `e` (over customers as c) somewhere; the result's first column is it. */
const SHAPES: ReadonlyArray<(e: string) => string> = [
  (e) => `SELECT ${e} AS v FROM customers c`,
  (e) => `SELECT ${e} AS v FROM customers`,
  (e) => `WITH w AS (SELECT ${e} AS v FROM customers c) SELECT v FROM w`,
  (e) => `SELECT v FROM (SELECT ${e} AS v FROM customers c) s`,
  (e) => `SELECT l.v FROM customers c, LATERAL (SELECT ${e} AS v) l`,
  (e) => `SELECT 'x' UNION SELECT ${e} FROM customers c`,
  (e) => `SELECT (SELECT ${e} FROM customers c LIMIT 1)`,
  (e) => `SELECT * FROM (SELECT ${e} AS v FROM customers c) s`,
  (e) => `UPDATE customers c SET name = ${e} RETURNING name`,
];

function lineageOf(sql: string): StatementLineage {
  const parsed = parseSqlStatements(sql);
  if (!parsed.ok || parsed.stmts[0] === undefined)
    throw new Error(`${sql}: ${parsed.ok ? 'empty' : parsed.reason}`);
  return statementLineage(parsed.stmts[0].node, ['public'], CATALOG);
}

function containsSsnOrOpaque(lineage: StatementLineage): boolean {
  const first = lineage.outputs === null ? lineage.anyOutput : lineage.outputs[0];
  if (first === undefined) return false;
  return first.opaque || first.sources.some((s) => s.table === 'customers' && s.column === 'ssn');
}

describe('lineage never loses a wrapped column', () => {
  it('random wrappers around the masked column, in random statement shapes', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...BASES),
        fc.array(fc.constantFrom(...WRAPPERS), { maxLength: 5 }),
        fc.constantFrom(...SHAPES),
        (base, wrappers, shape) => {
          const expression = wrappers.reduce((inner, wrap) => wrap(inner), base);
          const sql = shape(expression);
          expect(containsSsnOrOpaque(lineageOf(sql)), sql).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('the same through a view that renames the column', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...WRAPPERS), { maxLength: 4 }), (wrappers) => {
        const expression = wrappers.reduce((inner, wrap) => wrap(inner), 'v.tax_id');
        const sql = `SELECT ${expression} FROM customer_ssns v`;
        expect(containsSsnOrOpaque(lineageOf(sql)), sql).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});
