/**
 * A relation named in FROM (or as a DML target): a WITH query in scope, a table (its columns are the
 * sources), a view (its query's lineage), or an unknown relation (opaque).
 */
import {
  listField,
  objectField,
  type ParseNode,
  stringField,
  stringList,
} from '../../policy/analysis/parse-node.js';
import { findCte, type LineageEnv, type Scope } from './lineage-scope.js';
import { NO_SOURCES, sourceLineage } from './lineage-set.js';
import type { CatalogRelation } from './lineage-types.js';
import {
  ABSENT,
  aliasedEntry,
  type ColumnMatch,
  knownEntry,
  type NamedLineage,
  opaqueEntry,
  type RangeEntry,
  renameColumns,
  unknownEntry,
} from './range-entry.js';
import { resolveCatalogRelation } from './relation-candidates.js';
import { viewColumns } from './view-expansion.js';

/** A table's system columns hold no user data. */
const SYSTEM_COLUMNS: ReadonlySet<string> = new Set(['ctid', 'xmin', 'xmax', 'cmin', 'cmax', 'tableoid']);

function systemColumn(name: string): ColumnMatch {
  return SYSTEM_COLUMNS.has(name) ? { kind: 'found', lineage: NO_SOURCES } : ABSENT;
}

/** The alias of a FROM item: its name and column names, if written. */
export function aliasOf(item: ParseNode): { name: string | undefined; columns: string[] } {
  const alias = objectField(item, 'alias');
  if (alias === undefined) return { name: undefined, columns: [] };
  return { name: stringField(alias, 'aliasname'), columns: stringList(listField(alias, 'colnames')) ?? [] };
}

/** The columns of a catalog relation: a table's own, a view's traced through its query. */
export function relationColumns(relation: CatalogRelation, env: LineageEnv): readonly NamedLineage[] {
  if (relation.kind === 'view') return viewColumns(relation, env);
  return relation.columns.map((column) => ({
    name: column,
    lineage: sourceLineage(relation.schema, relation.name, column),
  }));
}

/** The catalog relation a RangeVar names (never a WITH query), or undefined when unknown. */
export function catalogRelationOf(rangeVar: ParseNode, env: LineageEnv): CatalogRelation | undefined {
  const name = stringField(rangeVar, 'relname');
  if (name === undefined || name === '') return undefined;
  const catalogName = stringField(rangeVar, 'catalogname');
  if (catalogName !== undefined && catalogName !== '') return undefined;
  const schema = stringField(rangeVar, 'schemaname');
  return resolveCatalogRelation(env.catalog, schema === '' ? undefined : schema, name, env.searchPath);
}

/** The entry of a catalog relation under `refName` (its alias or own name) with alias column names. */
export function catalogRelationEntry(
  relation: CatalogRelation,
  aliasName: string | undefined,
  aliasColumns: readonly string[],
  env: LineageEnv,
): RangeEntry {
  const columns = renameColumns(relationColumns(relation, env), aliasColumns);
  const names = {
    refName: aliasName ?? relation.name,
    relation: aliasName === undefined ? { schema: relation.schema, name: relation.name } : undefined,
  };
  return knownEntry(names, columns, relation.kind === 'view' ? undefined : systemColumn);
}

/** The entry of a RangeVar FROM item in `scope`. */
export function rangeVarEntry(rangeVar: ParseNode, scope: Scope, env: LineageEnv): RangeEntry {
  const alias = aliasOf(rangeVar);
  const name = stringField(rangeVar, 'relname');
  const schema = stringField(rangeVar, 'schemaname');
  if (name !== undefined && (schema === undefined || schema === '')) {
    const cte = findCte(scope, name);
    if (cte !== undefined) {
      const refName = alias.name ?? name;
      if (cte.columns === undefined) return unknownEntry({ refName }, cte.any);
      return aliasedEntry(knownEntry({ refName }, cte.columns), refName, alias.columns);
    }
  }
  const relation = catalogRelationOf(rangeVar, env);
  if (relation === undefined) return opaqueEntry(alias.name ?? name);
  return catalogRelationEntry(relation, alias.name, alias.columns, env);
}
