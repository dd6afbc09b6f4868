/**
 * One parsed statement → its StatementFacts. The table below is the complete list of statement kinds the
 * analyzer understands; any other kind is unclassified (fail closed).
 */
import type { StatementFacts } from '../policy-types.js';
import { ALTER_RELATION_STATEMENT_HANDLERS } from './alter-relation-statements.js';
import { COPY_STATEMENT_HANDLERS } from './copy-statement.js';
import { CREATE_RELATION_STATEMENT_HANDLERS } from './create-relation-statements.js';
import { DROP_STATEMENT_HANDLERS } from './drop-statement.js';
import { FactsCollector } from './facts-collector.js';
import { OBJECT_DDL_STATEMENT_HANDLERS } from './object-ddl-statements.js';
import { bodyOf, isObject, wrappedKind } from './parse-node.js';
import { PRIVILEGE_STATEMENT_HANDLERS } from './privilege-statements.js';
import { QUERY_STATEMENT_HANDLERS } from './query-statements.js';
import { ROUTINE_STATEMENT_HANDLERS } from './routine-statements.js';
import { SERVER_ADMIN_STATEMENT_HANDLERS } from './server-admin-statements.js';
import { SESSION_STATEMENT_HANDLERS } from './session-statements.js';
import { SETTINGS_STATEMENT_HANDLERS } from './settings-statements.js';
import type { StatementHandler } from './statement-handler.js';
import { TABLE_OPERATION_STATEMENT_HANDLERS } from './table-operation-statements.js';
import { unclassified } from './unclassified.js';

const STATEMENT_HANDLERS: ReadonlyMap<string, StatementHandler> = new Map(
  Object.entries({
    ...QUERY_STATEMENT_HANDLERS,
    ...COPY_STATEMENT_HANDLERS,
    ...SETTINGS_STATEMENT_HANDLERS,
    ...SESSION_STATEMENT_HANDLERS,
    ...ROUTINE_STATEMENT_HANDLERS,
    ...TABLE_OPERATION_STATEMENT_HANDLERS,
    ...CREATE_RELATION_STATEMENT_HANDLERS,
    ...ALTER_RELATION_STATEMENT_HANDLERS,
    ...DROP_STATEMENT_HANDLERS,
    ...OBJECT_DDL_STATEMENT_HANDLERS,
    ...PRIVILEGE_STATEMENT_HANDLERS,
    ...SERVER_ADMIN_STATEMENT_HANDLERS,
  }),
);

/** Every statement node kind the analyzer classifies. */
export const HANDLED_STATEMENT_KINDS: readonly string[] = [...STATEMENT_HANDLERS.keys()];

/** The parse node kind of a statement (`{ SelectStmt: … }` → 'SelectStmt'), or undefined. */
export function statementKind(statement: unknown): string | undefined {
  if (!isObject(statement)) return undefined;
  const kind = wrappedKind(statement);
  return kind === '' ? undefined : kind;
}

/** Adds the facts of `statement` (a wrapped parse node) to `ctx`, recursing into nested statements. */
function classifyInto(ctx: FactsCollector, statement: unknown): void {
  const kind = statementKind(statement);
  if (kind === undefined || !isObject(statement)) unclassified('unexpected parse tree shape (no statement)');
  const handler = STATEMENT_HANDLERS.get(kind);
  if (handler === undefined) unclassified(`unsupported statement (${kind})`);
  handler(ctx, bodyOf(statement, kind), (nested) => classifyInto(ctx, nested));
}

/** The facts of one statement; throws UnclassifiedError when it cannot be classified. */
export function classifyStatement(statement: unknown, searchPath: readonly string[]): StatementFacts {
  const ctx = new FactsCollector(searchPath);
  classifyInto(ctx, statement);
  return ctx.toFacts(statementKind(statement) ?? 'unknown');
}
