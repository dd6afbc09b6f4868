/**
 * Views: column i of a view has the lineage of result column i of its query, analysed with the same
 * catalog (views over views recursively). The view's own predicates are the admin's, not the agent's,
 * and are dropped. A view that cannot be analysed, nests deeper than 16 or refers to itself is opaque.
 */
import { parseSqlStatements } from '../../policy/sql-parser.js';
import { EMPTY_SCOPE, type LineageEnv } from './lineage-scope.js';
import { OPAQUE, withOpaque } from './lineage-set.js';
import type { CatalogRelation, ColumnLineage } from './lineage-types.js';
import { queryLineage } from './query-lineage.js';
import type { NamedLineage } from './range-entry.js';

/** How deep views may nest before the analysis gives up (opaque). */
export const MAX_VIEW_DEPTH = 16;

/** Per statement: views already analysed, and the chain being expanded (to detect cycles). */
export interface ViewExpansion {
  readonly done: Map<string, readonly NamedLineage[]>;
  readonly expanding: string[];
}

/** A fresh expansion state for one statement. */
export function newViewExpansion(): ViewExpansion {
  return { done: new Map(), expanding: [] };
}

function allColumns(relation: CatalogRelation, lineage: ColumnLineage): readonly NamedLineage[] {
  return relation.columns.map((name) => ({ name, lineage }));
}

/** The lineage of each column of view `relation`, named as the catalog names them. */
export function viewColumns(relation: CatalogRelation, env: LineageEnv): readonly NamedLineage[] {
  const key = `${relation.schema}.${relation.name}`;
  const known = env.views.done.get(key);
  if (known !== undefined) return known;
  if (env.views.expanding.includes(key) || env.views.expanding.length >= MAX_VIEW_DEPTH) {
    return allColumns(relation, OPAQUE);
  }
  env.views.expanding.push(key);
  let columns: readonly NamedLineage[];
  try {
    columns = analyseViewQuery(relation, env);
  } finally {
    env.views.expanding.pop();
  }
  env.views.done.set(key, columns);
  return columns;
}

function analyseViewQuery(relation: CatalogRelation, env: LineageEnv): readonly NamedLineage[] {
  if (relation.viewQuery === undefined) return allColumns(relation, OPAQUE);
  const parsed = parseSqlStatements(relation.viewQuery);
  const statement = parsed.ok && parsed.stmts.length === 1 ? parsed.stmts[0] : undefined;
  if (statement === undefined) return allColumns(relation, OPAQUE);
  const query = queryLineage(statement.node, EMPTY_SCOPE, env);
  const outputs = query.columns;
  if (outputs === undefined || outputs.length !== relation.columns.length) {
    return allColumns(relation, withOpaque(query.any));
  }
  return relation.columns.map((name, index) => ({ name, lineage: outputs[index]?.lineage ?? OPAQUE }));
}
