/**
 * SELECT, VALUES and set operations (UNION/INTERSECT/EXCEPT: result column i is the union of both sides'
 * column i). WHERE, GROUP BY, HAVING, WINDOW, DISTINCT ON, ORDER BY, LIMIT and OFFSET are predicates.
 */
import {
  bodyOf,
  isObject,
  listField,
  objectField,
  type ParseNode,
  stringField,
  wrappedKind,
} from '../../policy/analysis/parse-node.js';
import { expressionLineage, predicateLineage, type QueryState } from './expression-lineage.js';
import { fromClauseEntries } from './from-clause.js';
import { childScope, type LineageEnv, type QueryLineage, type Scope } from './lineage-scope.js';
import { LineageSet, unionLineage } from './lineage-set.js';
import type { ColumnLineage } from './lineage-types.js';
import { OPAQUE_QUERY } from './query-lineage.js';
import { unionQueries } from './query-union.js';
import { knownEntry, type NamedLineage, unknownEntry } from './range-entry.js';
import { groupKeysLineage, sortKeysLineage } from './sort-group-keys.js';
import { type TargetListLineage, targetListLineage } from './target-list.js';
import { withClauseScope } from './with-clause-lineage.js';

/** The lineage of a SelectStmt body in `outer`. */
export function selectLineage(select: ParseNode, outer: Scope, env: LineageEnv): QueryLineage {
  const predicates = new LineageSet();
  const withClause = objectField(select, 'withClause');
  const scope = withClause === undefined ? outer : withClauseScope(withClause, outer, env, predicates);
  const query: QueryState = { env, predicates, windows: namedWindows(select) };
  const op = stringField(select, 'op') ?? 'SETOP_NONE';
  const valuesLists = listField(select, 'valuesLists');
  let result: TargetListLineage;
  if (op !== 'SETOP_NONE') {
    result = setOperationResult(select, scope, query);
    resultOnlyClauses(select, scope, result, query);
  } else if (valuesLists.length > 0) {
    result = valuesResult(valuesLists, scope, query);
    resultOnlyClauses(select, scope, result, query);
  } else {
    result = plainSelectResult(select, scope, query);
  }
  return { columns: result.columns, any: result.any, predicates: predicates.toLineage() };
}

/** WINDOW w AS (…) definitions by name. */
function namedWindows(select: ParseNode): Map<string, ParseNode> {
  const windows = new Map<string, ParseNode>();
  for (const node of listField(select, 'windowClause')) {
    if (!isObject(node) || wrappedKind(node) !== 'WindowDef') continue;
    const window = bodyOf(node, 'WindowDef');
    const name = stringField(window, 'name');
    if (name !== undefined) windows.set(name, window);
  }
  return windows;
}

function plainSelectResult(select: ParseNode, scope: Scope, query: QueryState): TargetListLineage {
  const level = childScope(scope, fromClauseEntries(listField(select, 'fromClause'), scope, query));
  const result = targetListLineage(listField(select, 'targetList'), level, query);
  predicateLineage(select.whereClause, level, query);
  groupKeysLineage(listField(select, 'groupClause'), level, result, query);
  predicateLineage(select.havingClause, level, query);
  predicateLineage(select.windowClause, level, query);
  sortKeysLineage(listField(select, 'distinctClause'), level, result, query);
  sortKeysLineage(listField(select, 'sortClause'), level, result, query);
  predicateLineage([select.limitCount, select.limitOffset], level, query);
  return result;
}

/** ORDER BY and LIMIT of a set operation or VALUES: they can name only the result columns. */
function resultOnlyClauses(
  select: ParseNode,
  scope: Scope,
  result: TargetListLineage,
  query: QueryState,
): void {
  const entry =
    result.columns === undefined
      ? unknownEntry({ refName: undefined }, result.any)
      : knownEntry({ refName: undefined }, result.columns);
  const level = childScope(scope, [entry]);
  sortKeysLineage(listField(select, 'sortClause'), level, result, query);
  predicateLineage([select.limitCount, select.limitOffset], level, query);
}

/** Both sides of UNION/INTERSECT/EXCEPT (unwrapped SelectStmt bodies), merged position by position. */
function setOperationResult(select: ParseNode, scope: Scope, query: QueryState): TargetListLineage {
  const side = (field: string): QueryLineage => {
    const body = objectField(select, field);
    return body === undefined ? OPAQUE_QUERY : selectLineage(body, scope, query.env);
  };
  const merged = unionQueries(side('larg'), side('rarg'));
  query.predicates.add(merged.predicates);
  return { columns: merged.columns, any: merged.any };
}

/** VALUES rows: column i (named column<i>) is the union of every row's item i. */
function valuesResult(rows: readonly unknown[], scope: Scope, query: QueryState): TargetListLineage {
  const perRow: ColumnLineage[][] = rows.map((row) => {
    const items = isObject(row) && wrappedKind(row) === 'List' ? listField(bodyOf(row, 'List'), 'items') : [];
    return items.map((item) => expressionLineage(item, scope, query));
  });
  const any = unionLineage(...perRow.flat());
  const width = perRow[0]?.length ?? 0;
  if (perRow.some((row) => row.length !== width)) return { columns: undefined, any };
  const columns: NamedLineage[] = [];
  for (let i = 0; i < width; i++) {
    columns.push({ name: `column${i + 1}`, lineage: unionLineage(...perRow.map((row) => row[i] ?? any)) });
  }
  return { columns, any };
}
