/**
 * INSERT, UPDATE, DELETE and MERGE (at top level or inside a WITH query): the operation on the target
 * table, reads of every source, and RETURNING, which reads the target's rows.
 */
import type { QualifiedName, TableOperation } from '../policy-types.js';
import type { CteScope } from './cte-scope.js';
import { walkFields } from './expression-walker.js';
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
import { recordRelation, relationsOf } from './relation-references.js';
import { unclassified } from './unclassified.js';
import { scopeAfterWith } from './with-clause.js';

const INSERT_HANDLED = new Set(['relation', 'withClause', 'onConflictClause', 'returningClause']);
const UPDATE_DELETE_HANDLED = new Set(['relation', 'withClause', 'returningClause']);
const MERGE_HANDLED = new Set(['relation', 'withClause', 'returningClause', 'mergeWhenClauses']);

/** Records `operation` on the statement's target table (never a CTE) and returns its candidates. */
function recordTarget(ctx: FactsCollector, statement: ParseNode, operation: TableOperation): QualifiedName[] {
  const relation = objectField(statement, 'relation');
  if (relation === undefined) return unclassified('a data-modifying statement without a target table');
  return recordRelation(ctx, relation, operation);
}

/** RETURNING returns the target's rows: a read of the target, and its expressions are walked. */
function walkReturning(
  ctx: FactsCollector,
  statement: ParseNode,
  targets: readonly QualifiedName[],
  scope: CteScope | undefined,
): void {
  const returning = objectField(statement, 'returningClause');
  if (returning === undefined) return;
  for (const target of targets) ctx.addAccess(target, 'select');
  walkFields(ctx, 'ReturningClause', returning, scope);
}

/** INSERT: insert on the target, reads of the source query; ON CONFLICT DO UPDATE also updates. */
export function walkInsertStmt(
  ctx: FactsCollector,
  insert: ParseNode,
  outerScope: CteScope | undefined,
): void {
  const scope = scopeAfterWith(ctx, insert, outerScope);
  const targets = recordTarget(ctx, insert, 'insert');
  const onConflict = objectField(insert, 'onConflictClause');
  if (onConflict !== undefined) {
    if (stringField(onConflict, 'action') === 'ONCONFLICT_UPDATE') {
      for (const target of targets) ctx.addAccess(target, 'update');
    }
    walkFields(ctx, 'OnConflictClause', onConflict, scope);
  }
  walkReturning(ctx, insert, targets, scope);
  walkFields(ctx, 'InsertStmt', insert, scope, INSERT_HANDLED);
}

/** UPDATE: update on the target; FROM, SET and WHERE are walked (their relations are reads). */
export function walkUpdateStmt(
  ctx: FactsCollector,
  update: ParseNode,
  outerScope: CteScope | undefined,
): void {
  const scope = scopeAfterWith(ctx, update, outerScope);
  const targets = recordTarget(ctx, update, 'update');
  if (update.whereClause === undefined) ctx.addFeature('destructive', 'UPDATE without WHERE');
  walkReturning(ctx, update, targets, scope);
  walkFields(ctx, 'UpdateStmt', update, scope, UPDATE_DELETE_HANDLED);
}

/** DELETE: delete on the target; USING and WHERE are walked. */
export function walkDeleteStmt(
  ctx: FactsCollector,
  remove: ParseNode,
  outerScope: CteScope | undefined,
): void {
  const scope = scopeAfterWith(ctx, remove, outerScope);
  const targets = recordTarget(ctx, remove, 'delete');
  if (remove.whereClause === undefined) ctx.addFeature('destructive', 'DELETE without WHERE');
  walkReturning(ctx, remove, targets, scope);
  walkFields(ctx, 'DeleteStmt', remove, scope, UPDATE_DELETE_HANDLED);
}

const MERGE_ACTION_OPERATION: Readonly<Record<string, TableOperation | null>> = {
  CMD_INSERT: 'insert',
  CMD_UPDATE: 'update',
  CMD_DELETE: 'delete',
  CMD_NOTHING: null,
};

/** MERGE: per WHEN clause insert/update/delete on the target; the source is read. */
export function walkMergeStmt(ctx: FactsCollector, merge: ParseNode, outerScope: CteScope | undefined): void {
  const scope = scopeAfterWith(ctx, merge, outerScope);
  const relation = objectField(merge, 'relation');
  if (relation === undefined) unclassified('MERGE without a target table');
  for (const clause of listField(merge, 'mergeWhenClauses')) {
    if (!isObject(clause) || wrappedKind(clause) !== 'MergeWhenClause')
      unclassified('unexpected MERGE clause');
    const when = bodyOf(clause, 'MergeWhenClause');
    const command = stringField(when, 'commandType') ?? '';
    const operation = Object.hasOwn(MERGE_ACTION_OPERATION, command)
      ? MERGE_ACTION_OPERATION[command]
      : undefined;
    if (operation === undefined) unclassified(`unsupported MERGE action ${command}`);
    if (operation !== null) recordRelation(ctx, relation, operation);
    walkFields(ctx, 'MergeWhenClause', when, scope);
  }
  walkReturning(ctx, merge, relationsOf(ctx, relation), scope);
  walkFields(ctx, 'MergeStmt', merge, scope, MERGE_HANDLED);
}
