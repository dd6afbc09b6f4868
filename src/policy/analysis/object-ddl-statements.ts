/**
 * DDL on objects that are not table-like relations (functions, types, schemas, operators, casts, …): the
 * `non-table-ddl` feature. Triggers, rules, policies and statistics also change their table (`ddl`), and
 * the statements inside CREATE SCHEMA … are analysed with the new schema first on the search_path.
 */
import { rangeVarBody } from './ddl-facts.js';
import type { FactsCollector } from './facts-collector.js';
import { objectTypeText } from './object-types.js';
import { booleanField, listField, objectField, type ParseNode, stringField } from './parse-node.js';
import { recordRelation } from './relation-references.js';
import type { NestedClassifier, StatementHandler, StatementHandlers } from './statement-handler.js';
import { unclassified } from './unclassified.js';

function recordNonTableDdl(ctx: FactsCollector, detail: string): void {
  ctx.raiseEffect('ddl');
  ctx.addFeature('non-table-ddl', detail);
}

function nonTableDdl(detail: string | ((statement: ParseNode) => string)): StatementHandler {
  return (ctx, statement) => recordNonTableDdl(ctx, typeof detail === 'string' ? detail : detail(statement));
}

/** A non-table object on one table (`relationField`): non-table-ddl plus ddl on the table. */
function onTable(detail: string, relationField: string): StatementHandler {
  return (ctx, statement) => {
    recordNonTableDdl(ctx, detail);
    const relation = objectField(statement, relationField);
    if (relation === undefined) return unclassified(`${detail} without a table`);
    recordRelation(ctx, relation, 'ddl');
  };
}

/** CREATE SCHEMA s [elements]: the elements are created in s, which is searched first while they run. */
function classifyCreateSchema(ctx: FactsCollector, create: ParseNode, nested: NestedClassifier): void {
  recordNonTableDdl(ctx, 'create schema');
  const authorization = objectField(create, 'authrole');
  const schema =
    stringField(create, 'schemaname') ?? (authorization && stringField(authorization, 'rolename'));
  const elements = listField(create, 'schemaElts');
  if (elements.length === 0) return;
  if (schema === undefined) unclassified('CREATE SCHEMA elements without a schema name');
  ctx.withSearchPath([schema, ...ctx.searchPath.filter((name) => name !== schema)], () => {
    for (const element of elements) nested(element);
  });
}

/** CREATE STATISTICS … FROM t: a statistics object on t. */
function classifyCreateStatistics(ctx: FactsCollector, create: ParseNode): void {
  recordNonTableDdl(ctx, 'create statistics');
  for (const relation of listField(create, 'relations')) recordRelation(ctx, rangeVarBody(relation), 'ddl');
}

const create = (statement: ParseNode, field: string) =>
  `create ${objectTypeText(stringField(statement, field))}`;

/** Every non-table DDL statement kind. */
export const OBJECT_DDL_STATEMENT_HANDLERS: StatementHandlers = {
  CreateSchemaStmt: classifyCreateSchema,
  CreateFunctionStmt: nonTableDdl((s) =>
    booleanField(s, 'is_procedure') ? 'create procedure' : 'create function',
  ),
  AlterFunctionStmt: nonTableDdl((s) => `alter ${objectTypeText(stringField(s, 'objtype'))}`),
  DefineStmt: nonTableDdl((s) => create(s, 'kind')),
  CreateDomainStmt: nonTableDdl('create domain'),
  AlterDomainStmt: nonTableDdl('alter domain'),
  CompositeTypeStmt: nonTableDdl('create type'),
  CreateEnumStmt: nonTableDdl('create type'),
  CreateRangeStmt: nonTableDdl('create type'),
  AlterEnumStmt: nonTableDdl('alter type'),
  AlterTypeStmt: nonTableDdl('alter type'),
  CreateOpClassStmt: nonTableDdl('create operator class'),
  CreateOpFamilyStmt: nonTableDdl('create operator family'),
  AlterOpFamilyStmt: nonTableDdl('alter operator family'),
  AlterOperatorStmt: nonTableDdl('alter operator'),
  CreateCastStmt: nonTableDdl('create cast'),
  CreateConversionStmt: nonTableDdl('create conversion'),
  CreateTransformStmt: nonTableDdl('create transform'),
  AlterCollationStmt: nonTableDdl('alter collation'),
  AlterTSDictionaryStmt: nonTableDdl('alter text search dictionary'),
  AlterTSConfigurationStmt: nonTableDdl('alter text search configuration'),
  AlterObjectDependsStmt: nonTableDdl(
    (s) => `alter ${objectTypeText(stringField(s, 'objectType'))} depends on extension`,
  ),
  AlterStatsStmt: nonTableDdl('alter statistics'),
  CreateStatsStmt: classifyCreateStatistics,
  CreateTrigStmt: onTable('create trigger', 'relation'),
  RuleStmt: onTable('create rule', 'relation'),
  CreatePolicyStmt: onTable('create policy', 'table'),
  AlterPolicyStmt: onTable('alter policy', 'table'),
};
