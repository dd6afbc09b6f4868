/**
 * Statements that create relations: `ddl` on the new relation (pg_temp for TEMP ones), reads of whatever
 * fills or defines it, and every function in defaults, CHECK constraints and index expressions.
 */
import { NO_CTES } from './cte-scope.js';
import { rangeVarBody } from './ddl-facts.js';
import { walkFields } from './expression-walker.js';
import type { FactsCollector } from './facts-collector.js';
import { listField, objectField, type ParseNode } from './parse-node.js';
import { recordNewRelation, recordRelation } from './relation-references.js';
import type { NestedClassifier, StatementHandlers } from './statement-handler.js';
import { unclassified } from './unclassified.js';

const CREATE_TABLE_HANDLED = new Set(['relation', 'inhRelations']);
const RELATION_HANDLED = new Set(['relation']);
const VIEW_HANDLED = new Set(['view', 'query']);
const SEQUENCE_HANDLED = new Set(['sequence']);

function required(node: ParseNode, field: string, what: string): ParseNode {
  return objectField(node, field) ?? unclassified(`${what} without a ${field}`);
}

/** CREATE TABLE: ddl on it; INHERITS / PARTITION OF parents get ddl too (their scans now include it). */
function classifyCreateTable(ctx: FactsCollector, create: ParseNode): void {
  ctx.raiseEffect('ddl');
  recordNewRelation(ctx, required(create, 'relation', 'CREATE TABLE'));
  for (const parent of listField(create, 'inhRelations')) recordRelation(ctx, rangeVarBody(parent), 'ddl');
  walkFields(ctx, 'CreateStmt', create, NO_CTES, CREATE_TABLE_HANDLED);
}

/** CREATE TABLE … AS, CREATE MATERIALIZED VIEW, (the server's form of) SELECT INTO. */
function classifyCreateTableAs(ctx: FactsCollector, create: ParseNode, nested: NestedClassifier): void {
  ctx.raiseEffect('ddl');
  recordNewRelation(ctx, required(required(create, 'into', 'CREATE TABLE AS'), 'rel', 'CREATE TABLE AS'));
  nested(required(create, 'query', 'CREATE TABLE AS'));
}

/** CREATE VIEW: ddl on the view, and its query's reads (the view reads them with its owner's rights). */
function classifyCreateView(ctx: FactsCollector, view: ParseNode, nested: NestedClassifier): void {
  ctx.raiseEffect('ddl');
  recordNewRelation(ctx, required(view, 'view', 'CREATE VIEW'));
  nested(required(view, 'query', 'CREATE VIEW'));
  walkFields(ctx, 'ViewStmt', view, NO_CTES, VIEW_HANDLED);
}

/** CREATE INDEX: ddl on the indexed table; index expressions and the predicate are walked. */
function classifyCreateIndex(ctx: FactsCollector, index: ParseNode): void {
  ctx.raiseEffect('ddl');
  recordRelation(ctx, required(index, 'relation', 'CREATE INDEX'), 'ddl');
  walkFields(ctx, 'IndexStmt', index, NO_CTES, RELATION_HANDLED);
}

/** CREATE TABLE, CREATE FOREIGN TABLE, CREATE TABLE AS / MATERIALIZED VIEW, CREATE VIEW, CREATE INDEX, CREATE SEQUENCE. */
export const CREATE_RELATION_STATEMENT_HANDLERS: StatementHandlers = {
  CreateStmt: classifyCreateTable,
  CreateForeignTableStmt: (ctx, create) =>
    classifyCreateTable(ctx, required(create, 'base', 'CREATE FOREIGN TABLE')),
  CreateTableAsStmt: classifyCreateTableAs,
  ViewStmt: classifyCreateView,
  IndexStmt: classifyCreateIndex,
  CreateSeqStmt: (ctx, create) => {
    ctx.raiseEffect('ddl');
    recordNewRelation(ctx, required(create, 'sequence', 'CREATE SEQUENCE'));
    walkFields(ctx, 'CreateSeqStmt', create, NO_CTES, SEQUENCE_HANDLED);
  },
};
