/**
 * ORDER BY, DISTINCT ON and GROUP BY keys. A number is a result column's position; a bare name may be a
 * result column's name (ORDER BY prefers it, GROUP BY prefers an input column: both are taken, which can
 * only widen); anything else is an expression over the FROM items.
 */
import {
  bodyOf,
  isObject,
  listField,
  type ParseNode,
  stringNodeValue,
  wrappedKind,
} from '../../policy/analysis/parse-node.js';
import { predicateLineage, type QueryState } from './expression-lineage.js';
import { lookupColumn, type Scope } from './lineage-scope.js';
import { LineageSet } from './lineage-set.js';
import type { ColumnLineage } from './lineage-types.js';
import type { TargetListLineage } from './target-list.js';

/** The integer of a plain integer constant. */
function integerConstant(node: unknown): number | undefined {
  if (!isObject(node) || wrappedKind(node) !== 'A_Const') return undefined;
  const ival = bodyOf(node, 'A_Const').ival;
  if (!isObject(ival)) return undefined;
  const value = ival.ival;
  // The JSON omits zero.
  return typeof value === 'number' ? value : 0;
}

/** The name of a one-part column reference. */
function bareName(node: unknown): string | undefined {
  if (!isObject(node) || wrappedKind(node) !== 'ColumnRef') return undefined;
  const fields = listField(bodyOf(node, 'ColumnRef'), 'fields');
  return fields.length === 1 ? stringNodeValue(fields[0]) : undefined;
}

/** The lineage of one key, added to the query's predicates. */
export function keyLineage(
  node: unknown,
  scope: Scope,
  result: TargetListLineage,
  query: QueryState,
): ColumnLineage {
  const position = integerConstant(node);
  if (position !== undefined) {
    const lineage = result.columns?.[position - 1]?.lineage ?? result.any;
    query.predicates.add(lineage);
    return lineage;
  }
  const name = bareName(node);
  const outputs = name === undefined ? [] : (result.columns ?? []).filter((column) => column.name === name);
  const unnamed = result.columns === undefined || result.columns.some((column) => column.name === undefined);
  if (name !== undefined && (outputs.length > 0 || unnamed)) {
    const set = new LineageSet();
    for (const output of outputs) set.add(output.lineage);
    // A result column whose name is not known here (or an unknown shape) may be the one meant.
    if (result.columns === undefined) set.add(result.any);
    else for (const column of result.columns) if (column.name === undefined) set.add(column.lineage);
    const input = lookupColumn(scope, name);
    if (input.kind !== 'absent') set.add(input.lineage);
    const lineage = set.toLineage();
    query.predicates.add(lineage);
    return lineage;
  }
  return predicateLineage(node, scope, query);
}

/** ORDER BY items (SortBy nodes) or DISTINCT ON expressions. */
export function sortKeysLineage(
  items: readonly unknown[],
  scope: Scope,
  result: TargetListLineage,
  query: QueryState,
): void {
  for (const item of items) {
    if (isObject(item) && wrappedKind(item) === 'SortBy') {
      const sortBy: ParseNode = bodyOf(item, 'SortBy');
      keyLineage(sortBy.node, scope, result, query);
      // USING operator: a name, not a column.
    } else if (isObject(item) && wrappedKind(item) !== '') {
      keyLineage(item, scope, result, query);
    }
  }
}

/** GROUP BY items, through GROUPING SETS, ROLLUP and CUBE. */
export function groupKeysLineage(
  items: readonly unknown[],
  scope: Scope,
  result: TargetListLineage,
  query: QueryState,
): void {
  for (const item of items) {
    if (!isObject(item)) continue;
    const kind = wrappedKind(item);
    if (kind === 'GroupingSet')
      groupKeysLineage(listField(bodyOf(item, kind), 'content'), scope, result, query);
    else if (kind === 'List') groupKeysLineage(listField(bodyOf(item, kind), 'items'), scope, result, query);
    else if (kind === 'RowExpr')
      groupKeysLineage(listField(bodyOf(item, kind), 'args'), scope, result, query);
    else if (kind !== '') keyLineage(item, scope, result, query);
  }
}
