/**
 * Whole-table operations: TRUNCATE, LOCK, and maintenance (VACUUM, ANALYZE, CLUSTER, REINDEX, REFRESH
 * MATERIALIZED VIEW). Maintenance without a named relation covers the whole database: `server-admin`.
 */
import type { TableOperation } from '../policy-types.js';
import { rangeVarBody } from './ddl-facts.js';
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
import { recordRelation } from './relation-references.js';
import type { StatementHandlers } from './statement-handler.js';
import { unclassified } from './unclassified.js';

function recordEach(ctx: FactsCollector, relations: readonly unknown[], operation: TableOperation): void {
  for (const relation of relations) recordRelation(ctx, rangeVarBody(relation), operation);
}

/** VACUUM / ANALYZE [t [(columns)], …]. */
function classifyVacuum(ctx: FactsCollector, vacuum: ParseNode): void {
  const command = booleanField(vacuum, 'is_vacuumcmd') ? 'vacuum' : 'analyze';
  const relations = listField(vacuum, 'rels');
  if (relations.length === 0) {
    ctx.addFeature('server-admin', `${command} of every table`);
    return;
  }
  for (const relation of relations) {
    if (!isObject(relation) || wrappedKind(relation) !== 'VacuumRelation')
      unclassified(`unexpected ${command} target`);
    const target = objectField(bodyOf(relation, 'VacuumRelation'), 'relation');
    if (target === undefined) unclassified(`${command} target without a table`);
    recordRelation(ctx, target, 'maintenance');
  }
}

/** A statement on one optional relation; without one it covers the database. */
function maintenanceOf(command: string): (ctx: FactsCollector, statement: ParseNode) => void {
  return (ctx, statement) => {
    const relation = objectField(statement, 'relation');
    if (relation === undefined) ctx.addFeature('server-admin', `${command} of every table`);
    else recordRelation(ctx, relation, 'maintenance');
  };
}

const REINDEX_OF_MANY: Readonly<Record<string, string>> = {
  REINDEX_OBJECT_SCHEMA: 'reindex schema',
  REINDEX_OBJECT_SYSTEM: 'reindex system',
  REINDEX_OBJECT_DATABASE: 'reindex database',
};

/** REINDEX INDEX i / TABLE t: maintenance on it; SCHEMA/SYSTEM/DATABASE: server-admin. */
function classifyReindex(ctx: FactsCollector, reindex: ParseNode): void {
  const kind = stringField(reindex, 'kind') ?? '';
  const many = Object.hasOwn(REINDEX_OF_MANY, kind) ? REINDEX_OF_MANY[kind] : undefined;
  if (many !== undefined) {
    ctx.addFeature('server-admin', many);
    return;
  }
  const relation = objectField(reindex, 'relation');
  if (relation === undefined) unclassified(`unsupported REINDEX ${kind}`);
  recordRelation(ctx, relation, 'maintenance');
}

/** TRUNCATE, LOCK, VACUUM/ANALYZE, CLUSTER, REINDEX, REFRESH MATERIALIZED VIEW. */
export const TABLE_OPERATION_STATEMENT_HANDLERS: StatementHandlers = {
  TruncateStmt: (ctx, truncate) => {
    ctx.addFeature('destructive', 'TRUNCATE');
    recordEach(ctx, listField(truncate, 'relations'), 'truncate');
  },
  LockStmt: (ctx, lock) => recordEach(ctx, listField(lock, 'relations'), 'lock'),
  VacuumStmt: classifyVacuum,
  ClusterStmt: maintenanceOf('cluster'),
  ReindexStmt: classifyReindex,
  RefreshMatViewStmt: (ctx, refresh) => {
    const relation = objectField(refresh, 'relation');
    if (relation === undefined) return unclassified('REFRESH MATERIALIZED VIEW without a view');
    recordRelation(ctx, relation, 'maintenance');
  },
};
