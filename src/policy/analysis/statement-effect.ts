/** The worst-effect order of statements, and the effect each table operation and feature implies. */
import type { StatementEffect, StatementFeature, TableOperation } from '../policy-types.js';

/** From harmless to most consequential; a statement's effect is the worst of everything it does. */
const EFFECT_ORDER: readonly StatementEffect[] = [
  'read',
  'transaction',
  'session',
  'utility',
  'write',
  'ddl',
  'privilege',
];

/** Position of `effect` in the worst-effect order (higher is worse). */
export function effectRank(effect: StatementEffect): number {
  return EFFECT_ORDER.indexOf(effect);
}

/** The effect at `rank` in the worst-effect order. */
export function effectAtRank(rank: number): StatementEffect {
  return EFFECT_ORDER[rank] ?? 'privilege';
}

const OPERATION_EFFECT: Readonly<Record<TableOperation, StatementEffect>> = {
  select: 'read',
  lock: 'read',
  insert: 'write',
  update: 'write',
  delete: 'write',
  truncate: 'write',
  ddl: 'ddl',
  maintenance: 'utility',
};

/** The effect a table operation implies. */
export function effectOfOperation(operation: TableOperation): StatementEffect {
  return OPERATION_EFFECT[operation];
}

const FEATURE_EFFECT: Readonly<Record<StatementFeature['feature'], StatementEffect>> = {
  set: 'session',
  reset: 'session',
  'read-write-transaction': 'transaction',
  'copy-file-or-program': 'utility',
  'do-block': 'utility',
  call: 'utility',
  prepare: 'session',
  execute: 'utility',
  deallocate: 'session',
  'declare-cursor': 'session',
  'cursor-use': 'session',
  listen: 'session',
  notify: 'session',
  unlisten: 'session',
  load: 'utility',
  'two-phase-commit': 'transaction',
  privilege: 'privilege',
  'server-admin': 'utility',
  'non-table-ddl': 'ddl',
  discard: 'session',
  destructive: 'write',
};

/** The effect a statement feature implies. */
export function effectOfFeature(feature: StatementFeature['feature']): StatementEffect {
  return FEATURE_EFFECT[feature];
}
