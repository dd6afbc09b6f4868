/** RangeVar (a relation named in SQL) → the relations it can mean, recorded with an operation. */
import type { QualifiedName, TableOperation } from '../policy-types.js';
import { type CteScope, isCteName } from './cte-scope.js';
import type { FactsCollector } from './facts-collector.js';
import { resolveNewRelation, resolveRelation } from './name-resolution.js';
import { type ParseNode, stringField } from './parse-node.js';
import { unclassified } from './unclassified.js';

/** The schema (if written) and name of a RangeVar; three-part names are cross-database references. */
function writtenName(rangeVar: ParseNode): { schema: string | undefined; name: string } {
  const name = stringField(rangeVar, 'relname');
  const schema = stringField(rangeVar, 'schemaname');
  const catalog = stringField(rangeVar, 'catalogname');
  if (name === undefined || name === '') return unclassified('a relation reference without a name');
  if (catalog !== undefined && catalog !== '') {
    return unclassified(`cross-database reference ${catalog}.${schema ?? ''}.${name}`);
  }
  return { schema: schema === '' ? undefined : schema, name };
}

/** The relations an existing-relation RangeVar can mean (no CTE lookup: targets are never CTEs). */
export function relationsOf(ctx: FactsCollector, rangeVar: ParseNode): QualifiedName[] {
  const { schema, name } = writtenName(rangeVar);
  return resolveRelation(schema, name, ctx.searchPath);
}

/** Records `operation` on the relation a statement targets (INSERT INTO t, TRUNCATE t, LOCK t, …). */
export function recordRelation(
  ctx: FactsCollector,
  rangeVar: ParseNode,
  operation: TableOperation,
): QualifiedName[] {
  const relations = relationsOf(ctx, rangeVar);
  for (const relation of relations) ctx.addAccess(relation, operation);
  return relations;
}

/**
 * Records a read of a relation named in a query (FROM item, TABLE t). An unqualified name of a CTE in
 * scope is the CTE, not a relation: nothing is recorded and [] is returned.
 */
export function recordRead(
  ctx: FactsCollector,
  rangeVar: ParseNode,
  scope: CteScope | undefined,
): QualifiedName[] {
  const { schema, name } = writtenName(rangeVar);
  if (schema === undefined && isCteName(scope, name)) return [];
  const relations = resolveRelation(schema, name, ctx.searchPath);
  for (const relation of relations) ctx.addAccess(relation, 'select');
  return relations;
}

/** Records `ddl` on a relation being created: temporary ones live in pg_temp. */
export function recordNewRelation(ctx: FactsCollector, rangeVar: ParseNode): QualifiedName[] {
  const { schema, name } = writtenName(rangeVar);
  const relations =
    stringField(rangeVar, 'relpersistence') === 't'
      ? [{ schema: 'pg_temp', name }]
      : resolveNewRelation(schema, name, ctx.searchPath);
  for (const relation of relations) ctx.addAccess(relation, 'ddl');
  return relations;
}
