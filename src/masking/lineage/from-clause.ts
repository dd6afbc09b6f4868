/**
 * FROM items → the entries they make visible at their query level, in order. A subquery sees only the
 * outer levels unless LATERAL; functions and table functions always see the items before them; a
 * join's ON sees just the join's own items.
 */
import {
  bodyOf,
  isObject,
  objectField,
  type ParseNode,
  wrappedKind,
} from '../../policy/analysis/parse-node.js';
import { predicateLineage, type QueryState } from './expression-lineage.js';
import { jsonTableEntry, rangeFunctionEntry, xmlTableEntry } from './function-entries.js';
import { joinEntries } from './join-entries.js';
import { childScope, type Scope } from './lineage-scope.js';
import { queryLineage } from './query-lineage.js';
import { aliasedEntry, knownEntry, opaqueEntry, type RangeEntry, unknownEntry } from './range-entry.js';
import { aliasOf, rangeVarEntry } from './relation-entry.js';

/** The entries of a whole FROM clause, in `outer` (the enclosing levels and the WITH queries in scope). */
export function fromClauseEntries(items: readonly unknown[], outer: Scope, query: QueryState): RangeEntry[] {
  const entries: RangeEntry[] = [];
  for (const item of items) entries.push(...fromItemEntries(item, outer, [...entries], query));
  return entries;
}

/** The entries of one FROM item; `left` are the items before it at the same level. */
export function fromItemEntries(
  item: unknown,
  outer: Scope,
  left: readonly RangeEntry[],
  query: QueryState,
): RangeEntry[] {
  if (!isObject(item)) return [opaqueEntry(undefined)];
  const kind = wrappedKind(item);
  if (kind === undefined || kind === '') return [opaqueEntry(undefined)];
  const body = bodyOf(item, kind);
  const lateral = childScope(outer, left);
  switch (kind) {
    case 'RangeVar':
      return [rangeVarEntry(body, outer, query.env)];
    case 'RangeSubselect':
      return [subselectEntry(body, body.lateral === true ? lateral : outer, query)];
    case 'RangeFunction':
      return [rangeFunctionEntry(body, lateral, query)];
    case 'RangeTableFunc':
      return [xmlTableEntry(body, lateral, query)];
    case 'JsonTable':
      return [jsonTableEntry(body, lateral, query)];
    case 'JoinExpr':
      return joinEntries(body, outer, left, query, fromItemEntries);
    case 'RangeTableSample':
      return tableSampleEntries(body, outer, left, query);
    default:
      return [opaqueEntry(aliasOf(body).name)];
  }
}

/** `(query) AS s(a, b)`: the subquery's result columns; its predicates are the statement's. */
function subselectEntry(subselect: ParseNode, scope: Scope, query: QueryState): RangeEntry {
  const result = queryLineage(subselect.subquery, scope, query.env);
  query.predicates.add(result.predicates);
  const alias = aliasOf(subselect);
  if (result.columns === undefined) return unknownEntry({ refName: alias.name }, result.any);
  const entry = knownEntry({ refName: alias.name }, result.columns);
  return alias.name === undefined ? entry : aliasedEntry(entry, alias.name, alias.columns);
}

/** `t TABLESAMPLE method(args) REPEATABLE (seed)`: t's entry; the sampling arguments choose rows. */
function tableSampleEntries(
  sample: ParseNode,
  outer: Scope,
  left: readonly RangeEntry[],
  query: QueryState,
): RangeEntry[] {
  const relation = objectField(sample, 'relation');
  predicateLineage([sample.args, sample.repeatable], childScope(outer, left), query);
  return relation === undefined ? [opaqueEntry(undefined)] : fromItemEntries(relation, outer, left, query);
}
