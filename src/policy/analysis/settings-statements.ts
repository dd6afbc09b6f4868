/**
 * SET, RESET, SHOW and transaction control. A SET of any setting is a `set` feature the decision judges;
 * asking for a READ WRITE transaction is a `read-write-transaction` feature (READ ONLY is harmless).
 */
import type { FactsCollector } from './facts-collector.js';
import { bodyOf, isObject, listField, type ParseNode, stringField, wrappedKind } from './parse-node.js';
import type { StatementHandlers } from './statement-handler.js';
import { unclassified } from './unclassified.js';

interface TransactionOption {
  readonly name: string;
  /** For transaction_read_only: false means READ WRITE. */
  readonly readOnly: boolean | undefined;
}

/** The DefElems of SET TRANSACTION / BEGIN …: their names, and the READ ONLY / READ WRITE flag. */
function transactionOptions(options: readonly unknown[]): TransactionOption[] {
  return options.map((option) => {
    if (!isObject(option) || wrappedKind(option) !== 'DefElem')
      return unclassified('unexpected transaction option');
    const element = bodyOf(option, 'DefElem');
    const name = stringField(element, 'defname') ?? '';
    if (name !== 'transaction_read_only') return { name, readOnly: undefined };
    // READ ONLY is the integer constant 1, READ WRITE 0 (an absent ival).
    const constant = isObject(element.arg) ? element.arg.A_Const : undefined;
    const integer = isObject(constant) ? constant.ival : undefined;
    if (!isObject(integer)) return unclassified('unexpected transaction access mode');
    return { name, readOnly: integer.ival !== undefined && integer.ival !== 0 };
  });
}

function recordReadWrite(ctx: FactsCollector, options: readonly TransactionOption[], detail: string): void {
  if (options.some((option) => option.readOnly === false)) ctx.addFeature('read-write-transaction', detail);
}

function classifyVariableSet(ctx: FactsCollector, set: ParseNode): void {
  const kind = stringField(set, 'kind');
  const name = stringField(set, 'name') ?? '';
  switch (kind) {
    case 'VAR_SET_VALUE':
    case 'VAR_SET_DEFAULT':
    case 'VAR_SET_CURRENT':
      ctx.raiseEffect('session');
      ctx.addFeature('set', name.toLowerCase());
      return;
    case 'VAR_RESET':
      ctx.raiseEffect('session');
      ctx.addFeature('reset', name.toLowerCase());
      return;
    case 'VAR_RESET_ALL':
      ctx.raiseEffect('session');
      ctx.addFeature('reset', 'all');
      return;
    case 'VAR_SET_MULTI':
      classifySetMulti(ctx, name, listField(set, 'args'));
      return;
    default:
      unclassified(`unsupported SET form ${kind ?? ''}`);
  }
}

/** SET TRANSACTION …, SET SESSION CHARACTERISTICS AS TRANSACTION …, SET TRANSACTION SNAPSHOT. */
function classifySetMulti(ctx: FactsCollector, name: string, args: readonly unknown[]): void {
  switch (name) {
    case 'TRANSACTION':
      ctx.raiseEffect('transaction');
      recordReadWrite(ctx, transactionOptions(args), 'set transaction read write');
      return;
    case 'SESSION CHARACTERISTICS': {
      // The session defaults: READ WRITE is judged like BEGIN READ WRITE, the others like SET.
      ctx.raiseEffect('session');
      const options = transactionOptions(args);
      recordReadWrite(ctx, options, 'set session characteristics as transaction read write');
      for (const option of options) {
        if (option.name !== 'transaction_read_only') ctx.addFeature('set', `default_${option.name}`);
      }
      return;
    }
    case 'TRANSACTION SNAPSHOT':
      ctx.raiseEffect('transaction');
      return;
    default:
      unclassified(`unsupported SET form ${name}`);
  }
}

const TWO_PHASE_KINDS: Readonly<Record<string, string>> = {
  TRANS_STMT_PREPARE: 'prepare transaction',
  TRANS_STMT_COMMIT_PREPARED: 'commit prepared',
  TRANS_STMT_ROLLBACK_PREPARED: 'rollback prepared',
};

const PLAIN_TRANSACTION_KINDS: ReadonlySet<string> = new Set([
  'TRANS_STMT_COMMIT',
  'TRANS_STMT_ROLLBACK',
  'TRANS_STMT_SAVEPOINT',
  'TRANS_STMT_RELEASE',
  'TRANS_STMT_ROLLBACK_TO',
]);

function classifyTransaction(ctx: FactsCollector, transaction: ParseNode): void {
  const kind = stringField(transaction, 'kind') ?? '';
  ctx.raiseEffect('transaction');
  if (kind === 'TRANS_STMT_BEGIN' || kind === 'TRANS_STMT_START') {
    recordReadWrite(ctx, transactionOptions(listField(transaction, 'options')), 'begin read write');
    return;
  }
  const twoPhase = Object.hasOwn(TWO_PHASE_KINDS, kind) ? TWO_PHASE_KINDS[kind] : undefined;
  if (twoPhase !== undefined) {
    ctx.addFeature('two-phase-commit', twoPhase);
    return;
  }
  if (!PLAIN_TRANSACTION_KINDS.has(kind)) unclassified(`unsupported transaction statement ${kind}`);
}

/** SET/RESET/SHOW, BEGIN/COMMIT/ROLLBACK/SAVEPOINT/…, SET CONSTRAINTS. */
export const SETTINGS_STATEMENT_HANDLERS: StatementHandlers = {
  VariableSetStmt: classifyVariableSet,
  VariableShowStmt: (ctx) => ctx.raiseEffect('session'),
  TransactionStmt: classifyTransaction,
  // SET CONSTRAINTS … DEFERRED/IMMEDIATE only changes when this transaction checks its constraints.
  ConstraintsSetStmt: (ctx) => ctx.raiseEffect('transaction'),
};
