/**
 * WITH queries: each one's result columns (renamed by its column list, plus SEARCH/CYCLE columns) are
 * what a FROM reference to it yields. Without RECURSIVE a query sees the ones before it; with RECURSIVE
 * all of them, and their lineage is iterated to a fixed point (opaque if it does not settle).
 */
import {
  bodyOf,
  isObject,
  listField,
  objectField,
  type ParseNode,
  stringField,
  stringList,
  wrappedKind,
} from '../../policy/analysis/parse-node.js';
import { type CteChain, type LineageEnv, type QueryLineage, type Scope, withCtes } from './lineage-scope.js';
import { type LineageSet, NO_SOURCES, OPAQUE } from './lineage-set.js';
import type { ColumnLineage } from './lineage-types.js';
import { queryLineage } from './query-lineage.js';
import { querySignature, unionQueries } from './query-union.js';
import { lookupInColumns, type NamedLineage, renameColumns, unionOf } from './range-entry.js';

/** Rounds of a recursive WITH before it is declared opaque; lineage only grows, so it settles fast. */
const MAX_FIXED_POINT_ROUNDS = 64;

interface CommonTableExpr {
  readonly name: string;
  readonly body: ParseNode;
}

function commonTableExprs(withClause: ParseNode): CommonTableExpr[] {
  return listField(withClause, 'ctes').flatMap((node) => {
    if (!isObject(node) || wrappedKind(node) !== 'CommonTableExpr') return [];
    const body = bodyOf(node, 'CommonTableExpr');
    const name = stringField(body, 'ctename');
    return name === undefined ? [] : [{ name, body }];
  });
}

/** The lineage of the columns named in a SEARCH or CYCLE clause. */
function listedColumns(
  columns: readonly NamedLineage[] | undefined,
  any: ColumnLineage,
  names: unknown,
): ColumnLineage {
  const list = stringList(Array.isArray(names) ? names : []) ?? [];
  if (columns === undefined) return any;
  return unionOf(
    list.map((name) => {
      const match = lookupInColumns(columns, name);
      return match.kind === 'absent' ? OPAQUE : match.lineage;
    }),
  );
}

/** SEARCH adds an ordering column, CYCLE a mark and a path: all made of the listed columns. */
function searchAndCycleColumns(
  cte: ParseNode,
  columns: readonly NamedLineage[] | undefined,
  any: ColumnLineage,
): NamedLineage[] {
  const added: NamedLineage[] = [];
  const search = objectField(cte, 'search_clause');
  if (search !== undefined) {
    const lineage = listedColumns(columns, any, search.search_col_list);
    added.push({ name: stringField(search, 'search_seq_column'), lineage });
  }
  const cycle = objectField(cte, 'cycle_clause');
  if (cycle !== undefined) {
    const lineage = listedColumns(columns, any, cycle.cycle_col_list);
    added.push({ name: stringField(cycle, 'cycle_mark_column'), lineage });
    added.push({ name: stringField(cycle, 'cycle_path_column'), lineage });
  }
  return added;
}

/** One WITH query's result, as a FROM reference to it sees it. */
function cteResult(cte: CommonTableExpr, scope: Scope, env: LineageEnv): QueryLineage {
  const result = queryLineage(cte.body.ctequery, scope, env);
  const aliasNames = stringList(listField(cte.body, 'aliascolnames')) ?? [];
  const columns = result.columns === undefined ? undefined : renameColumns(result.columns, aliasNames);
  const added = searchAndCycleColumns(cte.body, columns, result.any);
  if (added.length === 0) return { ...result, columns };
  return {
    columns: columns === undefined ? undefined : [...columns, ...added],
    any: unionOf([result.any, ...added.map((column) => column.lineage)]),
    predicates: result.predicates,
  };
}

function chainOf(
  outer: CteChain | undefined,
  ctes: readonly CommonTableExpr[],
  results: readonly QueryLineage[],
): CteChain | undefined {
  let chain = outer;
  for (const [index, cte] of ctes.entries()) {
    const query = results[index];
    if (query !== undefined) chain = { name: cte.name, query, outer: chain };
  }
  return chain;
}

const NOTHING_YET: QueryLineage = { columns: undefined, any: NO_SOURCES, predicates: NO_SOURCES };
const UNTRACEABLE: QueryLineage = { columns: undefined, any: OPAQUE, predicates: OPAQUE };

function recursiveResults(ctes: readonly CommonTableExpr[], scope: Scope, env: LineageEnv): QueryLineage[] {
  let current: QueryLineage[] = ctes.map(() => NOTHING_YET);
  for (let round = 0; round < MAX_FIXED_POINT_ROUNDS; round++) {
    const inner = withCtes(scope, chainOf(scope.ctes, ctes, current));
    const next = ctes.map((cte, index) => {
      const result = cteResult(cte, inner, env);
      const previous = current[index];
      return round === 0 || previous === undefined ? result : unionQueries(previous, result);
    });
    const settled =
      round > 0 &&
      next.every((query, i) => {
        const previous = current[i];
        return previous !== undefined && querySignature(query) === querySignature(previous);
      });
    current = next;
    if (settled) return current;
  }
  return ctes.map(() => UNTRACEABLE);
}

/** The scope a statement's body sees after its WITH clause; the WITH queries' predicates are added. */
export function withClauseScope(
  withClause: ParseNode,
  scope: Scope,
  env: LineageEnv,
  predicates: LineageSet,
): Scope {
  const ctes = commonTableExprs(withClause);
  if (withClause.recursive === true) {
    const results = recursiveResults(ctes, scope, env);
    for (const result of results) predicates.add(result.predicates);
    return withCtes(scope, chainOf(scope.ctes, ctes, results));
  }
  let visible = scope;
  for (const cte of ctes) {
    const result = cteResult(cte, visible, env);
    predicates.add(result.predicates);
    visible = withCtes(visible, { name: cte.name, query: result, outer: visible.ctes });
  }
  return visible;
}
