/**
 * JOIN: the columns of `a JOIN b` are a's then b's; USING and NATURAL merge the joined columns into one
 * (first, in USING order) carrying both sides' lineage. An aliased join hides its items; an unaliased
 * one leaves them reachable by qualified name while unqualified names go through the join's columns.
 * ON, USING and NATURAL are predicates.
 */
import {
  listField,
  objectField,
  type ParseNode,
  stringField,
  stringList,
} from '../../policy/analysis/parse-node.js';
import { predicateLineage, type QueryState } from './expression-lineage.js';
import { childScope, type Scope } from './lineage-scope.js';
import type { ColumnLineage } from './lineage-types.js';
import {
  aliasedEntry,
  type ColumnMatch,
  combineMatches,
  knownEntry,
  type NamedLineage,
  type RangeEntry,
  unionOf,
} from './range-entry.js';
import { aliasOf } from './relation-entry.js';

/** Builds the entries of a FROM item; `left` are the items before it at the same level (for LATERAL). */
export type FromItemBuilder = (
  item: unknown,
  outer: Scope,
  left: readonly RangeEntry[],
  query: QueryState,
) => RangeEntry[];

/** One side of a join as its columns are seen: the side's entries with visible columns. */
interface JoinSide {
  readonly columns: readonly NamedLineage[] | undefined;
  readonly whole: ColumnLineage;
  readonly lookup: (name: string) => ColumnMatch;
}

function joinSide(entries: readonly RangeEntry[]): JoinSide {
  const visible = entries.filter((entry) => entry.colsVisible);
  const known = visible.every((entry) => entry.columns !== undefined);
  return {
    columns: known ? visible.flatMap((entry) => entry.columns ?? []) : undefined,
    whole: unionOf(visible.map((entry) => entry.whole)),
    lookup: (name) => combineMatches(visible.map((entry) => entry.lookup(name))),
  };
}

function matchLineage(match: ColumnMatch): ColumnLineage[] {
  return match.kind === 'absent' ? [] : [match.lineage];
}

/** The merged column names: USING's list, or for NATURAL the names both sides have (left's order). */
function mergedNames(join: ParseNode, left: JoinSide, right: JoinSide): string[] | undefined {
  if (join.isNatural === true) {
    if (left.columns === undefined || right.columns === undefined) return undefined;
    const rightNames = new Set(right.columns.map((column) => column.name));
    return left.columns.flatMap((c) => (c.name !== undefined && rightNames.has(c.name) ? [c.name] : []));
  }
  return stringList(listField(join, 'usingClause')) ?? [];
}

/** The entries a JoinExpr makes visible. */
export function joinEntries(
  join: ParseNode,
  outer: Scope,
  left: readonly RangeEntry[],
  query: QueryState,
  buildItem: FromItemBuilder,
): RangeEntry[] {
  const leftEntries = buildItem(join.larg, outer, left, query);
  const rightEntries = buildItem(join.rarg, outer, [...left, ...leftEntries], query);
  const inner = [...leftEntries, ...rightEntries];
  predicateLineage(join.quals, childScope(outer, inner), query);
  const leftSide = joinSide(leftEntries);
  const rightSide = joinSide(rightEntries);
  const merged = mergedNames(join, leftSide, rightSide);
  const mergedColumns = (merged ?? []).map((name) => ({
    name,
    lineage: unionOf([...matchLineage(leftSide.lookup(name)), ...matchLineage(rightSide.lookup(name))]),
  }));
  const whole = unionOf([leftSide.whole, rightSide.whole]);
  // NATURAL over an item of unknown shape joins on columns not known here: any of them.
  if (merged === undefined) query.predicates.add(whole);
  for (const column of mergedColumns) query.predicates.add(column.lineage);
  const mergedSet = new Set(merged ?? []);
  const columns =
    merged === undefined || leftSide.columns === undefined || rightSide.columns === undefined
      ? undefined
      : [
          ...mergedColumns,
          ...leftSide.columns.filter((c) => c.name === undefined || !mergedSet.has(c.name)),
          ...rightSide.columns.filter((c) => c.name === undefined || !mergedSet.has(c.name)),
        ];
  const joined: RangeEntry = {
    refName: undefined,
    relation: undefined,
    colsVisible: true,
    columns,
    whole,
    lookup: (name) => {
      const mergedColumn = mergedColumns.find((column) => column.name === name);
      if (mergedColumn !== undefined) return { kind: 'found', lineage: mergedColumn.lineage };
      return combineMatches([leftSide.lookup(name), rightSide.lookup(name)]);
    },
  };
  const usingAliasNode = objectField(join, 'join_using_alias');
  const usingAlias = usingAliasNode === undefined ? undefined : stringField(usingAliasNode, 'aliasname');
  const usingEntries =
    usingAlias === undefined
      ? []
      : [{ ...knownEntry({ refName: usingAlias }, mergedColumns), colsVisible: false }];
  const alias = aliasOf(join);
  if (alias.name !== undefined) return [aliasedEntry(joined, alias.name, alias.columns), ...usingEntries];
  return [joined, ...inner.map((entry) => ({ ...entry, colsVisible: false })), ...usingEntries];
}
