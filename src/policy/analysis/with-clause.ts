/**
 * WITH: each CTE's query is analysed (a data-modifying CTE writes), and its name then hides relations of
 * the same unqualified name. Without RECURSIVE a CTE sees only the CTEs before it (a later name still
 * means the relation); with RECURSIVE every CTE of the list is visible to all of them.
 */
import { type CteScope, withCte } from './cte-scope.js';
import { walkFields, walkNode } from './expression-walker.js';
import type { FactsCollector } from './facts-collector.js';
import {
  bodyOf,
  booleanField,
  isObject,
  listField,
  objectField,
  type ParseNode,
  stringField,
  wrappedKind,
} from './parse-node.js';
import { unclassified } from './unclassified.js';

const CTE_QUERY = new Set(['ctequery', 'ctename']);

interface CommonTableExpr {
  readonly name: string;
  readonly body: ParseNode;
}

function commonTableExprs(withClause: ParseNode): CommonTableExpr[] {
  return listField(withClause, 'ctes').map((node) => {
    if (!isObject(node) || wrappedKind(node) !== 'CommonTableExpr')
      return unclassified('unexpected WITH item');
    const body = bodyOf(node, 'CommonTableExpr');
    const name = stringField(body, 'ctename');
    if (name === undefined) return unclassified('a WITH query without a name');
    return { name, body };
  });
}

/** Analyses a WITH clause and returns the scope its statement's body sees. */
export function walkWithClause(
  ctx: FactsCollector,
  withClause: ParseNode,
  scope: CteScope | undefined,
): CteScope | undefined {
  const ctes = commonTableExprs(withClause);
  const recursive = booleanField(withClause, 'recursive');
  let visible = scope;
  if (recursive) for (const cte of ctes) visible = withCte(visible, cte.name);
  // An outer FOR UPDATE does not lock the rows of WITH queries.
  ctx.withoutCaptures(() => {
    let before = scope;
    for (const cte of ctes) {
      const seen = recursive ? visible : before;
      walkNode(ctx, cte.body.ctequery, seen);
      walkFields(ctx, 'CommonTableExpr', cte.body, seen, CTE_QUERY);
      before = withCte(before, cte.name);
    }
    if (!recursive) visible = before;
  });
  return visible;
}

/** The scope inside a statement that may carry a WITH clause (`withClause` field). */
export function scopeAfterWith(
  ctx: FactsCollector,
  statement: ParseNode,
  scope: CteScope | undefined,
): CteScope | undefined {
  const withClause = objectField(statement, 'withClause');
  return withClause === undefined ? scope : walkWithClause(ctx, withClause, scope);
}
