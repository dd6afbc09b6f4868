/**
 * Statements that shape the session rather than data: SQL-level prepared statements, cursors,
 * LISTEN/NOTIFY/UNLISTEN and DISCARD. PREPARE and DECLARE carry their statement's facts too.
 */
import { NO_CTES } from './cte-scope.js';
import { walkNodes } from './expression-walker.js';
import type { FactsCollector } from './facts-collector.js';
import { listField, objectField, type ParseNode, stringField } from './parse-node.js';
import type { NestedClassifier, StatementHandlers } from './statement-handler.js';
import { unclassified } from './unclassified.js';

function requiredName(node: ParseNode, field: string, what: string): string {
  const name = stringField(node, field);
  return name === undefined || name === '' ? unclassified(`${what} without a name`) : name;
}

/** PREPARE n AS stmt: the `prepare` feature and every fact of stmt. */
function classifyPrepare(ctx: FactsCollector, prepare: ParseNode, nested: NestedClassifier): void {
  ctx.addFeature('prepare', requiredName(prepare, 'name', 'PREPARE'));
  const query = objectField(prepare, 'query');
  if (query === undefined) unclassified('PREPARE without a statement');
  nested(query);
}

/** DECLARE c CURSOR FOR q: the `declare-cursor` feature and every fact of q. */
function classifyDeclareCursor(ctx: FactsCollector, declare: ParseNode, nested: NestedClassifier): void {
  ctx.addFeature('declare-cursor', requiredName(declare, 'portalname', 'DECLARE'));
  const query = objectField(declare, 'query');
  if (query === undefined) unclassified('DECLARE without a query');
  nested(query);
}

const DISCARD_TARGETS: Readonly<Record<string, string>> = {
  DISCARD_ALL: 'all',
  DISCARD_PLANS: 'plans',
  DISCARD_SEQUENCES: 'sequences',
  DISCARD_TEMP: 'temp',
};

function classifyDiscard(ctx: FactsCollector, discard: ParseNode): void {
  const target = stringField(discard, 'target') ?? '';
  const detail = Object.hasOwn(DISCARD_TARGETS, target) ? DISCARD_TARGETS[target] : undefined;
  if (detail === undefined) unclassified(`unsupported DISCARD ${target}`);
  ctx.addFeature('discard', detail);
}

/** PREPARE/EXECUTE/DEALLOCATE, DECLARE/FETCH/MOVE/CLOSE, LISTEN/NOTIFY/UNLISTEN, DISCARD. */
export const SESSION_STATEMENT_HANDLERS: StatementHandlers = {
  PrepareStmt: classifyPrepare,
  // EXECUTE is judged on the prepared text by the session guard; its parameters are evaluated here.
  ExecuteStmt: (ctx, execute) => {
    ctx.addFeature('execute', requiredName(execute, 'name', 'EXECUTE'));
    walkNodes(ctx, listField(execute, 'params'), NO_CTES);
  },
  DeallocateStmt: (ctx, deallocate) => ctx.addFeature('deallocate', stringField(deallocate, 'name') ?? 'all'),
  DeclareCursorStmt: classifyDeclareCursor,
  FetchStmt: (ctx, fetch) => ctx.addFeature('cursor-use', requiredName(fetch, 'portalname', 'FETCH')),
  ClosePortalStmt: (ctx, close) => ctx.addFeature('cursor-use', stringField(close, 'portalname') ?? 'all'),
  ListenStmt: (ctx, listen) => ctx.addFeature('listen', requiredName(listen, 'conditionname', 'LISTEN')),
  NotifyStmt: (ctx, notify) => ctx.addFeature('notify', requiredName(notify, 'conditionname', 'NOTIFY')),
  UnlistenStmt: (ctx, unlisten) => ctx.addFeature('unlisten', stringField(unlisten, 'conditionname') ?? '*'),
  DiscardStmt: classifyDiscard,
};
