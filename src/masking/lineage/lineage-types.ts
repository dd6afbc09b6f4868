// TEMPORARY stand-in until the lineage branch lands (replaced at merge).

import type { ParseNode } from '../../policy/analysis/parse-node.js';
import type { QualifiedName } from '../../policy/policy-types.js';
export interface SourceColumn {
  readonly schema: string;
  readonly table: string;
  readonly column: string;
}
export interface CatalogRelation {
  readonly schema: string;
  readonly name: string;
  readonly kind: 'table' | 'view' | 'other';
  readonly columns: readonly string[];
  readonly viewQuery?: string;
}
export interface CatalogSnapshot {
  relation(schema: string, name: string): CatalogRelation | undefined;
}
export interface ColumnLineage {
  readonly sources: readonly SourceColumn[];
  readonly opaque: boolean;
}
export interface StatementLineage {
  readonly outputs: readonly ColumnLineage[] | null;
  readonly anyOutput: ColumnLineage;
  readonly predicates: ColumnLineage;
}
export function referencedRelations(stmt: ParseNode, searchPath: readonly string[]): QualifiedName[] {
  void stmt;
  void searchPath;
  return [];
}
export function statementLineage(
  stmt: ParseNode,
  searchPath: readonly string[],
  catalog: CatalogSnapshot,
): StatementLineage {
  void stmt;
  void searchPath;
  void catalog;
  const opaque = { sources: [], opaque: true };
  return { outputs: null, anyOutput: opaque, predicates: opaque };
}
