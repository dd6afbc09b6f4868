/** Merging the results of two queries position by position (set operations, recursive WITH queries). */

import type { QueryLineage } from './lineage-scope.js';
import { unionLineage } from './lineage-set.js';
import type { ColumnLineage } from './lineage-types.js';
import type { NamedLineage } from './range-entry.js';

/** Every column of `columns` widened by `extra`. */
function widen(columns: readonly NamedLineage[], extra: ColumnLineage): NamedLineage[] {
  return columns.map((column) => ({ name: column.name, lineage: unionLineage(column.lineage, extra) }));
}

/**
 * Result column i of the union is left's i and right's i, named as on the left. A side of unknown shape
 * has the other side's number of columns (the server requires it) with its `any` at every position.
 */
export function unionQueries(left: QueryLineage, right: QueryLineage): QueryLineage {
  const any = unionLineage(left.any, right.any);
  const predicates = unionLineage(left.predicates, right.predicates);
  const [l, r] = [left.columns, right.columns];
  let columns: readonly NamedLineage[] | undefined;
  if (l !== undefined && r !== undefined) {
    columns =
      l.length === r.length
        ? l.map((column, i) => ({
            name: column.name,
            lineage: unionLineage(column.lineage, r[i]?.lineage ?? right.any),
          }))
        : undefined;
  } else if (l !== undefined) {
    columns = widen(l, right.any);
  } else if (r !== undefined) {
    columns = widen(r, left.any).map((column) => ({ name: undefined, lineage: column.lineage }));
  }
  return { columns, any, predicates };
}

function lineageSignature(lineage: ColumnLineage): string {
  const keys = lineage.sources.map((s) => `${s.schema}.${s.table}.${s.column}`).sort();
  return `${lineage.opaque ? '!' : ''}${keys.join(',')}`;
}

/** A string that changes whenever a query's lineage grows (for fixed-point iteration). */
export function querySignature(query: QueryLineage): string {
  const columns = query.columns?.map((column) => lineageSignature(column.lineage)).join('|') ?? '?';
  return `${columns}#${lineageSignature(query.any)}#${lineageSignature(query.predicates)}`;
}
