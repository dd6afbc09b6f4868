/**
 * The public shapes of result-column lineage: where each value of a statement's result may come from,
 * and the catalog facts the analysis needs, which the caller reads from the server.
 */

/** A column of a base table or view, fully qualified. */
export interface SourceColumn {
  readonly schema: string;
  readonly table: string;
  readonly column: string;
}

/**
 * What the analyzer needs to know about one relation; supplied by the caller from the server's catalog.
 * Materialized views, foreign and partitioned tables are given as 'table'; 'other' (a sequence, a
 * composite type) is treated like a table.
 */
export interface CatalogRelation {
  readonly schema: string;
  readonly name: string;
  readonly kind: 'table' | 'view' | 'other';
  /** Live columns in attnum order. */
  readonly columns: readonly string[];
  /**
   * Views: the view's SELECT text (pg_get_viewdef), analysed recursively with the same search_path and
   * catalog. Fetch it with the statement's search_path (or an empty one, so every name is qualified).
   */
  readonly viewQuery?: string;
}

/** The caller's view of the server catalog. `pg_temp` stands for the session's temporary schema. */
export interface CatalogSnapshot {
  /** The relation if it exists; undefined if it does not exist or is unknown. */
  relation(schema: string, name: string): CatalogRelation | undefined;
}

/**
 * Where one value may come from. `opaque`: some of its inputs cannot be traced (unknown relation, a
 * function that reads data by itself, a record expansion of unknown shape…).
 */
export interface ColumnLineage {
  readonly sources: readonly SourceColumn[];
  readonly opaque: boolean;
}

/** The lineage of one statement's result. */
export interface StatementLineage {
  /** One per result column in order, or null when the number/order of result columns cannot be known. */
  readonly outputs: readonly ColumnLineage[] | null;
  /** Union of everything any result column may depend on (used when outputs is null). */
  readonly anyOutput: ColumnLineage;
  /**
   * Columns used to filter, join, sort or group: WHERE, JOIN … ON/USING, ORDER BY, GROUP BY, HAVING,
   * window PARTITION/ORDER, DISTINCT ON, FILTER (WHERE) and ORDER BY of aggregates, LIMIT/OFFSET —
   * anywhere in the statement the agent wrote (subqueries, CTEs, sublinks), not inside view definitions.
   */
  readonly predicates: ColumnLineage;
}
