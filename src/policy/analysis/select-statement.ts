/**
 * SELECT (and VALUES, TABLE, set operations): reads of every relation in FROM, subqueries and sublinks;
 * SELECT INTO creates a relation; FOR UPDATE/SHARE locks the FROM relations (or those named in OF).
 */
import type { QualifiedName } from '../policy-types.js';
import type { CteScope } from './cte-scope.js';
import { walkFields, walkNode, walkNodes } from './expression-walker.js';
import type { FactsCollector } from './facts-collector.js';
import {
  bodyOf,
  isObject,
  listField,
  objectField,
  type ParseNode,
  stringField,
  wrappedKind,
} from './parse-node.js';
import { recordNewRelation } from './relation-references.js';
import { unclassified } from './unclassified.js';
import { walkWithClause } from './with-clause.js';

const SELECT_HANDLED = new Set(['withClause', 'larg', 'rarg', 'fromClause', 'lockingClause', 'intoClause']);
const JOIN_SIDES = new Set(['larg', 'rarg']);

/** Analyses a SelectStmt body in `outerScope` (the CTEs of enclosing queries). */
export function walkSelectStmt(
  ctx: FactsCollector,
  select: ParseNode,
  outerScope: CteScope | undefined,
): void {
  const withClause = objectField(select, 'withClause');
  const scope = withClause === undefined ? outerScope : walkWithClause(ctx, withClause, outerScope);
  const into = objectField(select, 'intoClause');
  if (into !== undefined) {
    // SELECT … INTO t creates t.
    const relation = objectField(into, 'rel');
    if (relation === undefined) unclassified('SELECT INTO without a table');
    recordNewRelation(ctx, relation);
  }
  const locking = listField(select, 'lockingClause');
  if (locking.length === 0) {
    walkSetOperands(ctx, select, scope);
    walkNodes(ctx, listField(select, 'fromClause'), scope);
  } else {
    walkLockingSelect(ctx, select, scope, locking);
  }
  walkFields(ctx, 'SelectStmt', select, scope, SELECT_HANDLED);
}

/** The two sides of UNION/INTERSECT/EXCEPT (unwrapped SelectStmts). */
function walkSetOperands(ctx: FactsCollector, select: ParseNode, scope: CteScope | undefined): void {
  const left = objectField(select, 'larg');
  const right = objectField(select, 'rarg');
  if (left !== undefined) walkSelectStmt(ctx, left, scope);
  if (right !== undefined) walkSelectStmt(ctx, right, scope);
}

/**
 * FOR UPDATE/NO KEY UPDATE/SHARE/KEY SHARE: `lock` on the relations of every FROM item, or of the items
 * named in OF (by alias or name). An OF name that matches no item locks them all (the server refuses it).
 */
function walkLockingSelect(
  ctx: FactsCollector,
  select: ParseNode,
  scope: CteScope | undefined,
  locking: readonly unknown[],
): void {
  const byName = new Map<string, QualifiedName[]>();
  const everything = ctx.captureReads(() => {
    walkSetOperands(ctx, select, scope);
    for (const item of listField(select, 'fromClause')) walkLockableItem(ctx, item, scope, byName);
  });
  for (const clause of locking) {
    if (!isObject(clause) || wrappedKind(clause) !== 'LockingClause')
      unclassified('unexpected locking clause');
    const lockedRels = listField(bodyOf(clause, 'LockingClause'), 'lockedRels');
    const locked =
      lockedRels.length === 0
        ? everything
        : lockedRels.flatMap((named) => lockTarget(named, byName, everything));
    for (const relation of locked) ctx.addAccess(relation, 'lock');
  }
}

function lockTarget(
  named: unknown,
  byName: ReadonlyMap<string, QualifiedName[]>,
  everything: QualifiedName[],
): QualifiedName[] {
  if (!isObject(named) || wrappedKind(named) !== 'RangeVar') return everything;
  const rangeVar = bodyOf(named, 'RangeVar');
  if (stringField(rangeVar, 'schemaname') !== undefined) return everything;
  const name = stringField(rangeVar, 'relname');
  return (name === undefined ? undefined : byName.get(name)) ?? everything;
}

/** Walks one FROM item, records its reference name → relations, and returns the relations it reads. */
function walkLockableItem(
  ctx: FactsCollector,
  item: unknown,
  scope: CteScope | undefined,
  byName: Map<string, QualifiedName[]>,
): QualifiedName[] {
  if (!isObject(item)) return [];
  const kind = wrappedKind(item);
  if (kind === 'JoinExpr') {
    const join = bodyOf(item, kind);
    const relations = [
      ...walkLockableItem(ctx, join.larg, scope, byName),
      ...walkLockableItem(ctx, join.rarg, scope, byName),
    ];
    walkFields(ctx, kind, join, scope, JOIN_SIDES);
    const alias = aliasName(join);
    if (alias !== undefined) byName.set(alias, relations);
    return relations;
  }
  const relations = ctx.captureReads(() => walkNode(ctx, item, scope));
  const name = kind === undefined || kind === '' ? undefined : referenceName(kind, bodyOf(item, kind));
  if (name !== undefined) byName.set(name, relations);
  return relations;
}

function aliasName(fromItem: ParseNode): string | undefined {
  const alias = objectField(fromItem, 'alias');
  return alias === undefined ? undefined : stringField(alias, 'aliasname');
}

/** The name a FROM item is referred to by: its alias, or a relation's own name. */
function referenceName(kind: string, fromItem: ParseNode): string | undefined {
  if (kind === 'RangeVar') return aliasName(fromItem) ?? stringField(fromItem, 'relname');
  if (kind === 'RangeTableSample') {
    const relation = objectField(fromItem, 'relation');
    return relation === undefined || wrappedKind(relation) !== 'RangeVar'
      ? undefined
      : referenceName('RangeVar', bodyOf(relation, 'RangeVar'));
  }
  return aliasName(fromItem);
}
