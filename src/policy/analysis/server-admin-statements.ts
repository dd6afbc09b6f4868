/**
 * Server administration: the `server-admin` feature. Creating, altering or dropping server-level objects
 * is DDL; ALTER SYSTEM and CHECKPOINT are utility.
 */
import type { StatementEffect } from '../policy-types.js';
import type { StatementHandler, StatementHandlers } from './statement-handler.js';

function serverAdmin(detail: string, effect: StatementEffect = 'ddl'): StatementHandler {
  return (ctx) => {
    ctx.raiseEffect(effect);
    ctx.addFeature('server-admin', detail);
  };
}

/** Databases, tablespaces, extensions, foreign servers, publications, subscriptions, event triggers, languages, … */
export const SERVER_ADMIN_STATEMENT_HANDLERS: StatementHandlers = {
  AlterSystemStmt: serverAdmin('alter system', 'utility'),
  CheckPointStmt: serverAdmin('checkpoint', 'utility'),
  CreatedbStmt: serverAdmin('create database'),
  AlterDatabaseStmt: serverAdmin('alter database'),
  AlterDatabaseSetStmt: serverAdmin('alter database set'),
  AlterDatabaseRefreshCollStmt: serverAdmin('alter database refresh collation version'),
  DropdbStmt: serverAdmin('drop database'),
  CreateTableSpaceStmt: serverAdmin('create tablespace'),
  DropTableSpaceStmt: serverAdmin('drop tablespace'),
  AlterTableSpaceOptionsStmt: serverAdmin('alter tablespace'),
  AlterTableMoveAllStmt: serverAdmin('alter … all in tablespace'),
  CreateExtensionStmt: serverAdmin('create extension'),
  AlterExtensionStmt: serverAdmin('alter extension'),
  AlterExtensionContentsStmt: serverAdmin('alter extension add/drop'),
  CreateFdwStmt: serverAdmin('create foreign data wrapper'),
  AlterFdwStmt: serverAdmin('alter foreign data wrapper'),
  CreateForeignServerStmt: serverAdmin('create server'),
  AlterForeignServerStmt: serverAdmin('alter server'),
  CreateUserMappingStmt: serverAdmin('create user mapping'),
  AlterUserMappingStmt: serverAdmin('alter user mapping'),
  DropUserMappingStmt: serverAdmin('drop user mapping'),
  ImportForeignSchemaStmt: serverAdmin('import foreign schema'),
  CreatePublicationStmt: serverAdmin('create publication'),
  AlterPublicationStmt: serverAdmin('alter publication'),
  CreateSubscriptionStmt: serverAdmin('create subscription'),
  AlterSubscriptionStmt: serverAdmin('alter subscription'),
  DropSubscriptionStmt: serverAdmin('drop subscription'),
  CreateEventTrigStmt: serverAdmin('create event trigger'),
  AlterEventTrigStmt: serverAdmin('alter event trigger'),
  CreatePLangStmt: serverAdmin('create language'),
  CreateAmStmt: serverAdmin('create access method'),
};
