/**
 * Name scopes of a statement: one level per query (its FROM items), nested for subqueries, with the WITH
 * queries visible at that point. Lookups follow the server: the innermost level that has a name wins.
 */
import type { CatalogSnapshot, ColumnLineage } from './lineage-types.js';
import {
  ABSENT,
  type ColumnMatch,
  combineMatches,
  type NamedLineage,
  type RangeEntry,
  unionOf,
} from './range-entry.js';
import type { ViewExpansion } from './view-expansion.js';

/** What one analysed query (or WITH query) yields. */
export interface QueryLineage {
  /** Result columns in order, or undefined when their number or order is unknown. */
  readonly columns: readonly NamedLineage[] | undefined;
  /** Union of every result column's lineage. */
  readonly any: ColumnLineage;
  /** Columns the query filters, joins, sorts or groups by (its subqueries' included). */
  readonly predicates: ColumnLineage;
}

/** An immutable chain of visible WITH queries, innermost first. */
export interface CteChain {
  readonly name: string;
  readonly query: QueryLineage;
  readonly outer: CteChain | undefined;
}

/** One level of names. */
export interface Scope {
  readonly entries: readonly RangeEntry[];
  readonly ctes: CteChain | undefined;
  readonly parent: Scope | undefined;
}

/** Fixed inputs of one statement's analysis, and its work budget. */
export interface LineageEnv {
  readonly searchPath: readonly string[];
  readonly catalog: CatalogSnapshot;
  readonly views: ViewExpansion;
  /** Queries left to analyse before the statement is declared untraceable (nested recursive WITH multiplies). */
  readonly budget: { remaining: number };
}

/** Queries one statement may analyse (views and fixed-point rounds included). */
export const QUERY_BUDGET = 20_000;

/** Thrown when a statement exhausts its budget; statementLineage makes it opaque. */
export class LineageBudgetExceeded extends Error {
  override readonly name = 'LineageBudgetExceeded';
}

/** Counts one query analysis against the statement's budget. */
export function spendQueryBudget(env: LineageEnv): void {
  env.budget.remaining -= 1;
  if (env.budget.remaining < 0) throw new LineageBudgetExceeded('the statement is too complex to trace');
}

/** A statement's top level: no FROM items, no WITH queries. */
export const EMPTY_SCOPE: Scope = { entries: [], ctes: undefined, parent: undefined };

/** A new level of `entries` inside `parent` (a query's FROM items, a join's ON clause). */
export function childScope(parent: Scope, entries: readonly RangeEntry[]): Scope {
  return { entries, ctes: parent.ctes, parent };
}

/** The same level with WITH queries added. */
export function withCtes(scope: Scope, ctes: CteChain | undefined): Scope {
  return { entries: scope.entries, ctes, parent: scope.parent };
}

/** The WITH query `name` visible in `scope`, if any. */
export function findCte(scope: Scope, name: string): QueryLineage | undefined {
  for (let entry = scope.ctes; entry !== undefined; entry = entry.outer) {
    if (entry.name === name) return entry.query;
  }
  return undefined;
}

/**
 * An unqualified column name: the innermost level where an item certainly has it decides (found); levels
 * where it only may exist add their possibility and the search goes on outwards (maybe); absent when no
 * item can have it.
 */
export function lookupColumn(scope: Scope, name: string): ColumnMatch {
  const possible: ColumnLineage[] = [];
  for (let level: Scope | undefined = scope; level !== undefined; level = level.parent) {
    const match = combineMatches(
      level.entries.filter((entry) => entry.colsVisible).map((entry) => entry.lookup(name)),
    );
    if (match.kind === 'found') return { kind: 'found', lineage: unionOf([...possible, match.lineage]) };
    if (match.kind === 'maybe') possible.push(match.lineage);
  }
  return possible.length === 0 ? ABSENT : { kind: 'maybe', lineage: unionOf(possible) };
}

/** The item qualified as `refName` (an alias, or an unaliased relation's name), innermost level first. */
export function findEntry(scope: Scope, refName: string): RangeEntry | undefined {
  for (let level: Scope | undefined = scope; level !== undefined; level = level.parent) {
    const entry = level.entries.find((candidate) => candidate.refName === refName);
    if (entry !== undefined) return entry;
  }
  return undefined;
}

/** The unaliased item reading relation `schema.table`, innermost level first. */
export function findRelationEntry(scope: Scope, schema: string, table: string): RangeEntry | undefined {
  for (let level: Scope | undefined = scope; level !== undefined; level = level.parent) {
    const entry = level.entries.find(
      (candidate) => candidate.relation?.schema === schema && candidate.relation.name === table,
    );
    if (entry !== undefined) return entry;
  }
  return undefined;
}

/** The columns `*` expands to at this level (every item with visible columns, in order), if all are known. */
export function starColumns(scope: Scope): readonly NamedLineage[] | undefined {
  const columns: NamedLineage[] = [];
  for (const entry of scope.entries) {
    if (!entry.colsVisible) continue;
    if (entry.columns === undefined) return undefined;
    columns.push(...entry.columns);
  }
  return columns;
}

/** Everything `*` at this level carries, known shape or not. */
export function starWhole(scope: Scope): ColumnLineage {
  return unionOf(scope.entries.filter((entry) => entry.colsVisible).map((entry) => entry.whole));
}
