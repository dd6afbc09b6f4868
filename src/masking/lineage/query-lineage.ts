/** A nested query of any kind (FROM subquery, sublink, WITH query, view, COPY, DECLARE) → its lineage. */
import { bodyOf, isObject, wrappedKind } from '../../policy/analysis/parse-node.js';
import { type LineageEnv, type QueryLineage, type Scope, spendQueryBudget } from './lineage-scope.js';
import { OPAQUE } from './lineage-set.js';
import { deleteLineage, insertLineage, mergeLineage, updateLineage } from './modify-lineage.js';
import { selectLineage } from './select-lineage.js';

/** A query whose lineage cannot be traced. */
export const OPAQUE_QUERY: QueryLineage = { columns: undefined, any: OPAQUE, predicates: OPAQUE };

/** The lineage of a wrapped query node in `scope`; anything but SELECT/VALUES and DML is opaque. */
export function queryLineage(node: unknown, scope: Scope, env: LineageEnv): QueryLineage {
  spendQueryBudget(env);
  if (!isObject(node)) return OPAQUE_QUERY;
  const kind = wrappedKind(node);
  if (kind === undefined || kind === '') return OPAQUE_QUERY;
  const body = bodyOf(node, kind);
  switch (kind) {
    case 'SelectStmt':
      return selectLineage(body, scope, env);
    case 'InsertStmt':
      return insertLineage(body, scope, env);
    case 'UpdateStmt':
      return updateLineage(body, scope, env);
    case 'DeleteStmt':
      return deleteLineage(body, scope, env);
    case 'MergeStmt':
      return mergeLineage(body, scope, env);
    default:
      return OPAQUE_QUERY;
  }
}
