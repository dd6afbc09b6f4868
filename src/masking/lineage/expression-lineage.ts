/**
 * The lineage of an expression: the union of every column it reads, through function arguments,
 * operators, CASE, casts, constructors, aggregates (their ORDER BY and FILTER) and window clauses.
 * Sublinks add their subquery's results and predicates. A call of a function that reads data by itself,
 * and syntax this walk does not know, make the value opaque (fail closed).
 */
import { GENERIC_NODE_KINDS, LEAF_NODE_KINDS } from '../../policy/analysis/expression-node-kinds.js';
import {
  bodyOf,
  isObject,
  listField,
  objectField,
  type ParseNode,
  stringField,
  stringList,
  stringNodeValue,
  wrappedKind,
} from '../../policy/analysis/parse-node.js';
import { columnRefLineage, columnRefParts, fieldSelection, wholeRowEntry } from './column-reference.js';
import { functionCallIsOpaque } from './data-reading-functions.js';
import type { LineageEnv, Scope } from './lineage-scope.js';
import { LineageSet } from './lineage-set.js';
import type { ColumnLineage } from './lineage-types.js';
import { queryLineage } from './query-lineage.js';

/** The state of the query level an expression belongs to. */
export interface QueryState {
  readonly env: LineageEnv;
  /** The level's predicates; calls add their FILTER, ORDER BY and window clauses, sublinks their own. */
  readonly predicates: LineageSet;
  /** The level's named windows (WINDOW w AS (…)), for `OVER w`. */
  readonly windows: ReadonlyMap<string, ParseNode>;
}

/** FuncCall fields that are not plain inputs: the name, and the clauses that sort or filter rows. */
const FUNC_CALL_SPECIAL: ReadonlySet<string> = new Set(['funcname', 'agg_order', 'agg_filter', 'over']);

/** The lineage of `node` (a wrapped expression node, a list, or an unwrapped struct) in `scope`. */
export function expressionLineage(node: unknown, scope: Scope, query: QueryState): ColumnLineage {
  const set = new LineageSet();
  collectExpression(set, node, scope, query);
  return set.toLineage();
}

/** Adds the lineage of `node` to the query's predicates (WHERE, ON, GROUP BY …) and returns it. */
export function predicateLineage(node: unknown, scope: Scope, query: QueryState): ColumnLineage {
  const lineage = expressionLineage(node, scope, query);
  query.predicates.add(lineage);
  return lineage;
}

function collectExpression(set: LineageSet, value: unknown, scope: Scope, query: QueryState): void {
  if (Array.isArray(value)) {
    for (const item of value) collectExpression(set, item, scope, query);
    return;
  }
  if (!isObject(value)) return;
  const kind = wrappedKind(value);
  if (kind === '') return;
  if (kind === undefined) {
    // An unwrapped struct (a FuncCall's window, a cast's type name): its fields are expressions.
    collectFields(set, value, scope, query);
    return;
  }
  const body = bodyOf(value, kind);
  switch (kind) {
    case 'ColumnRef':
      set.add(columnRefLineage(body, scope, query.env));
      return;
    case 'FuncCall':
      collectFuncCall(set, body, scope, query);
      return;
    case 'SubLink':
      set.add(sublinkLineage(body, scope, query));
      return;
    case 'A_Indirection':
      set.add(indirectionLineage(body, scope, query));
      return;
    case 'WindowDef':
      set.add(windowLineage(body, scope, query));
      return;
    case 'A_Expr':
      // OPERATOR(schema.op): an operator outside pg_catalog runs a user function.
      if (qualifiedOutsideCatalog(listField(body, 'name'))) set.markOpaque();
      collectFields(set, body, scope, query);
      return;
    default:
      if (LEAF_NODE_KINDS.has(kind)) return;
      if (GENERIC_NODE_KINDS.has(kind)) collectFields(set, body, scope, query);
      else set.markOpaque();
  }
}

function collectFields(set: LineageSet, body: ParseNode, scope: Scope, query: QueryState): void {
  for (const field in body) {
    const value = body[field];
    if (typeof value === 'object' && value !== null) collectExpression(set, value, scope, query);
  }
}

/**
 * A function call: its arguments' lineage, opaque when the function may read data by itself. Its
 * FILTER, aggregate ORDER BY and window clauses sort or filter rows: they are predicates too.
 */
function collectFuncCall(set: LineageSet, call: ParseNode, scope: Scope, query: QueryState): void {
  const name = stringList(listField(call, 'funcname'));
  if (name === undefined || name.length === 0 || functionCallIsOpaque(name, query.env.searchPath)) {
    set.markOpaque();
  }
  for (const field in call) {
    if (!FUNC_CALL_SPECIAL.has(field)) collectExpression(set, call[field], scope, query);
  }
  set.add(predicateLineage(call.agg_order, scope, query));
  set.add(predicateLineage(call.agg_filter, scope, query));
  const over = objectField(call, 'over');
  if (over !== undefined) {
    const window = windowLineage(over, scope, query);
    query.predicates.add(window);
    set.add(window);
  }
}

/** A window's PARTITION BY, ORDER BY and frame offsets, with those of the named windows it builds on. */
function windowLineage(window: ParseNode, scope: Scope, query: QueryState): ColumnLineage {
  const set = new LineageSet();
  const seen = new Set<ParseNode>();
  const pending: ParseNode[] = [window];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    if (seen.has(next)) continue;
    seen.add(next);
    collectFields(set, next, scope, query);
    for (const field of ['name', 'refname']) {
      const name = stringField(next, field);
      const named = name === undefined ? undefined : query.windows.get(name);
      if (named !== undefined) pending.push(named);
    }
  }
  return set.toLineage();
}

/**
 * A subquery in an expression (scalar, EXISTS, IN, ANY/ALL, ARRAY): its results and its predicates (the
 * truth value of EXISTS depends on them), plus the tested expression. Correlated: it sees `scope`.
 */
function sublinkLineage(sublink: ParseNode, scope: Scope, query: QueryState): ColumnLineage {
  const subquery = queryLineage(sublink.subselect, scope, query.env);
  query.predicates.add(subquery.predicates);
  const set = new LineageSet().add(subquery.any).add(subquery.predicates);
  collectExpression(set, sublink.testexpr, scope, query);
  return set.toLineage();
}

/** `(expr).field`, `(expr)[i]`, `(expr).*`: the value's lineage and the subscripts'. */
function indirectionLineage(indirection: ParseNode, scope: Scope, query: QueryState): ColumnLineage {
  const set = new LineageSet();
  const arg = indirection.arg;
  collectExpression(set, arg, scope, query);
  // Only the first step can select a column of a FROM item's whole row.
  let row = wholeRowOf(arg, scope);
  for (const step of listField(indirection, 'indirection')) {
    const field = stringNodeValue(step);
    if (field === undefined) {
      collectExpression(set, step, scope, query);
    } else {
      const known = row?.columns?.some((column) => column.name === field) ?? false;
      set.add(fieldSelection(set.toLineage(), field, known, query.env));
    }
    row = undefined;
  }
  return set.toLineage();
}

function qualifiedOutsideCatalog(name: readonly unknown[]): boolean {
  const parts = stringList(name);
  return parts !== undefined && parts.length > 1 && parts[0] !== 'pg_catalog';
}

/** The FROM item `arg` refers to as a whole row (`c`, `c.*`), if it is such a reference. */
export function wholeRowOf(arg: unknown, scope: Scope): ReturnType<typeof wholeRowEntry> {
  if (!isObject(arg) || wrappedKind(arg) !== 'ColumnRef') return undefined;
  const parts = columnRefParts(listField(bodyOf(arg, 'ColumnRef'), 'fields'));
  return parts === undefined ? undefined : wholeRowEntry(parts, scope);
}
