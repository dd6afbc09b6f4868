/**
 * ALTER TABLE/INDEX/VIEW/SEQUENCE/…, RENAME, SET SCHEMA and COMMENT ON: `ddl` on the relation they change,
 * with other object kinds sorted by ddl-facts.ts. ALTER … OWNER TO is a `privilege` feature.
 */
import { NO_CTES } from './cte-scope.js';
import {
  nameParts,
  rangeVarBody,
  recordAttachedObjectDdl,
  recordObjectDdl,
  recordRelationPartsDdl,
} from './ddl-facts.js';
import { walkFields } from './expression-walker.js';
import type { FactsCollector } from './facts-collector.js';
import { objectTypeText, TABLE_ATTACHED_OBJECT_TYPES, TABLE_LIKE_OBJECT_TYPES } from './object-types.js';
import {
  bodyOf,
  isObject,
  listField,
  objectField,
  type ParseNode,
  stringField,
  wrappedKind,
} from './parse-node.js';
import { recordRelation } from './relation-references.js';
import type { StatementHandlers } from './statement-handler.js';
import { unclassified } from './unclassified.js';

const PARTITION_COMMANDS: ReadonlySet<string> = new Set([
  'AT_AttachPartition',
  'AT_DetachPartition',
  'AT_DetachPartitionFinalize',
]);
const PARTITION_NAME = new Set(['name']);
const SEQUENCE_HANDLED = new Set(['sequence']);

function relationField(node: ParseNode, field: string, what: string): ParseNode {
  return objectField(node, field) ?? unclassified(`${what} without a relation`);
}

/** ALTER TABLE (and INDEX, VIEW, MATERIALIZED VIEW, SEQUENCE, FOREIGN TABLE) with its subcommands. */
function classifyAlterTable(ctx: FactsCollector, alter: ParseNode): void {
  const objectType = stringField(alter, 'objtype');
  // ALTER TYPE … ADD/DROP/ALTER ATTRIBUTE shares this node.
  if (objectType === 'OBJECT_TYPE') {
    recordObjectDdl(ctx, 'alter', objectType);
    return;
  }
  if (objectType === undefined || !TABLE_LIKE_OBJECT_TYPES.has(objectType)) {
    unclassified(`unsupported ALTER of ${objectType ?? 'an unknown object'}`);
  }
  ctx.raiseEffect('ddl');
  ctx.addFeature('destructive', 'ALTER');
  recordRelation(ctx, relationField(alter, 'relation', 'ALTER TABLE'), 'ddl');
  for (const command of listField(alter, 'cmds')) {
    if (!isObject(command) || wrappedKind(command) !== 'AlterTableCmd')
      unclassified('unexpected ALTER TABLE command');
    classifyAlterTableCommand(ctx, bodyOf(command, 'AlterTableCmd'));
  }
}

function classifyAlterTableCommand(ctx: FactsCollector, command: ParseNode): void {
  const subtype = stringField(command, 'subtype') ?? '';
  if (subtype === 'AT_ChangeOwner') {
    ctx.addFeature('privilege', 'owner to');
    return;
  }
  const definition = command.def;
  if (PARTITION_COMMANDS.has(subtype)) {
    // ATTACH/DETACH PARTITION p changes p as well.
    if (!isObject(definition) || wrappedKind(definition) !== 'PartitionCmd')
      unclassified('unexpected partition command');
    const partition = bodyOf(definition, 'PartitionCmd');
    recordRelation(ctx, relationField(partition, 'name', 'ATTACH PARTITION'), 'ddl');
    walkFields(ctx, 'PartitionCmd', partition, NO_CTES, PARTITION_NAME);
    return;
  }
  if (subtype === 'AT_AddInherit' || subtype === 'AT_DropInherit') {
    // INHERIT parent: the parent's scans now include this table's rows.
    recordRelation(ctx, rangeVarBody(definition), 'ddl');
    return;
  }
  // Column definitions, defaults, constraints, USING expressions, options.
  walkFields(ctx, 'AlterTableCmd', command, NO_CTES);
}

/** ALTER … RENAME: ddl on the relation under its old and its new name. */
function classifyRename(ctx: FactsCollector, rename: ParseNode): void {
  const renameType = stringField(rename, 'renameType') ?? '';
  const relation = objectField(rename, 'relation');
  if (TABLE_LIKE_OBJECT_TYPES.has(renameType)) {
    ctx.raiseEffect('ddl');
    ctx.addFeature('destructive', 'ALTER');
    const newName = stringField(rename, 'newname') ?? unclassified('RENAME without a new name');
    for (const old of recordRelation(ctx, relationField(rename, 'relation', 'RENAME'), 'ddl')) {
      ctx.addAccess({ schema: old.schema, name: newName }, 'ddl');
    }
    return;
  }
  const relationType = stringField(rename, 'relationType') ?? '';
  if (renameType === 'OBJECT_COLUMN' && relation !== undefined && TABLE_LIKE_OBJECT_TYPES.has(relationType)) {
    ctx.raiseEffect('ddl');
    recordRelation(ctx, relation, 'ddl');
    return;
  }
  if (TABLE_ATTACHED_OBJECT_TYPES.has(renameType) && relation !== undefined) {
    ctx.raiseEffect('ddl');
    recordRelation(ctx, relation, 'ddl');
    if (renameType !== 'OBJECT_TABCONSTRAINT')
      ctx.addFeature('non-table-ddl', `rename ${objectTypeText(renameType)}`);
    return;
  }
  recordObjectDdl(ctx, 'rename', renameType);
}

/** ALTER … SET SCHEMA: ddl on the relation where it is and where it goes. */
function classifySetSchema(ctx: FactsCollector, alter: ParseNode): void {
  const objectType = stringField(alter, 'objectType');
  if (objectType === undefined || !TABLE_LIKE_OBJECT_TYPES.has(objectType)) {
    recordObjectDdl(ctx, 'set schema of', objectType);
    return;
  }
  ctx.raiseEffect('ddl');
  const relation = relationField(alter, 'relation', 'SET SCHEMA');
  const newSchema = stringField(alter, 'newschema') ?? unclassified('SET SCHEMA without a schema');
  const moved = recordRelation(ctx, relation, 'ddl')[0];
  if (moved !== undefined) ctx.addAccess({ schema: newSchema, name: moved.name }, 'ddl');
}

/** COMMENT ON: ddl on a relation (or the table of a column, trigger, …), else DDL on the object. */
function classifyComment(ctx: FactsCollector, comment: ParseNode): void {
  const objectType = stringField(comment, 'objtype') ?? '';
  if (TABLE_LIKE_OBJECT_TYPES.has(objectType)) {
    ctx.raiseEffect('ddl');
    recordRelationPartsDdl(ctx, nameParts(comment.object));
  } else if (objectType === 'OBJECT_COLUMN') {
    ctx.raiseEffect('ddl');
    recordRelationPartsDdl(ctx, nameParts(comment.object).slice(0, -1));
  } else if (TABLE_ATTACHED_OBJECT_TYPES.has(objectType)) {
    recordAttachedObjectDdl(ctx, 'comment on', objectType, nameParts(comment.object));
  } else {
    recordObjectDdl(ctx, 'comment on', objectType);
  }
}

/** ALTER TABLE and friends, ALTER SEQUENCE, RENAME, SET SCHEMA, COMMENT ON. */
export const ALTER_RELATION_STATEMENT_HANDLERS: StatementHandlers = {
  AlterTableStmt: classifyAlterTable,
  AlterSeqStmt: (ctx, alter) => {
    ctx.raiseEffect('ddl');
    recordRelation(ctx, relationField(alter, 'sequence', 'ALTER SEQUENCE'), 'ddl');
    walkFields(ctx, 'AlterSeqStmt', alter, NO_CTES, SEQUENCE_HANDLED);
  },
  RenameStmt: classifyRename,
  AlterObjectSchemaStmt: classifySetSchema,
  CommentStmt: classifyComment,
};
