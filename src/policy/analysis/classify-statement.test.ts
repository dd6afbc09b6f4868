/**
 * The statement table and fail-closed behaviour on parse trees the analyzer does not know: any unknown
 * statement kind, expression node kind or unwrapped field is unclassified, never ignored.
 */
import { describe, expect, it } from 'vitest';
import { classifyStatement, HANDLED_STATEMENT_KINDS } from './classify-statement.js';
import { UnclassifiedError } from './unclassified.js';

const select = (targetList: unknown[], extra: Record<string, unknown> = {}) => ({
  SelectStmt: { targetList, op: 'SETOP_NONE', ...extra },
});

describe('classifyStatement', () => {
  it('keeps an explicit, complete table of handled statement kinds', () => {
    expect([...HANDLED_STATEMENT_KINDS].sort()).toEqual(
      [
        'AlterDatabaseRefreshCollStmt',
        'AlterDatabaseSetStmt',
        'AlterDatabaseStmt',
        'AlterDefaultPrivilegesStmt',
        'AlterDomainStmt',
        'AlterEnumStmt',
        'AlterEventTrigStmt',
        'AlterExtensionContentsStmt',
        'AlterExtensionStmt',
        'AlterFdwStmt',
        'AlterForeignServerStmt',
        'AlterFunctionStmt',
        'AlterObjectDependsStmt',
        'AlterObjectSchemaStmt',
        'AlterOpFamilyStmt',
        'AlterOperatorStmt',
        'AlterOwnerStmt',
        'AlterPolicyStmt',
        'AlterPublicationStmt',
        'AlterRoleSetStmt',
        'AlterRoleStmt',
        'AlterSeqStmt',
        'AlterStatsStmt',
        'AlterSubscriptionStmt',
        'AlterSystemStmt',
        'AlterTSConfigurationStmt',
        'AlterTSDictionaryStmt',
        'AlterTableMoveAllStmt',
        'AlterTableSpaceOptionsStmt',
        'AlterTableStmt',
        'AlterTypeStmt',
        'AlterUserMappingStmt',
        'AlterCollationStmt',
        'CallStmt',
        'CheckPointStmt',
        'ClosePortalStmt',
        'ClusterStmt',
        'CommentStmt',
        'CompositeTypeStmt',
        'ConstraintsSetStmt',
        'CopyStmt',
        'CreateAmStmt',
        'CreateCastStmt',
        'CreateConversionStmt',
        'CreateDomainStmt',
        'CreateEnumStmt',
        'CreateEventTrigStmt',
        'CreateExtensionStmt',
        'CreateFdwStmt',
        'CreateForeignServerStmt',
        'CreateForeignTableStmt',
        'CreateFunctionStmt',
        'CreateOpClassStmt',
        'CreateOpFamilyStmt',
        'CreatePLangStmt',
        'CreatePolicyStmt',
        'CreatePublicationStmt',
        'CreateRangeStmt',
        'CreateRoleStmt',
        'CreateSchemaStmt',
        'CreateSeqStmt',
        'CreateStatsStmt',
        'CreateStmt',
        'CreateSubscriptionStmt',
        'CreateTableAsStmt',
        'CreateTableSpaceStmt',
        'CreateTransformStmt',
        'CreateTrigStmt',
        'CreateUserMappingStmt',
        'CreatedbStmt',
        'DeallocateStmt',
        'DeclareCursorStmt',
        'DefineStmt',
        'DeleteStmt',
        'DiscardStmt',
        'DoStmt',
        'DropOwnedStmt',
        'DropRoleStmt',
        'DropStmt',
        'DropSubscriptionStmt',
        'DropTableSpaceStmt',
        'DropUserMappingStmt',
        'DropdbStmt',
        'ExecuteStmt',
        'ExplainStmt',
        'FetchStmt',
        'GrantRoleStmt',
        'GrantStmt',
        'ImportForeignSchemaStmt',
        'IndexStmt',
        'InsertStmt',
        'ListenStmt',
        'LoadStmt',
        'LockStmt',
        'MergeStmt',
        'NotifyStmt',
        'PrepareStmt',
        'ReassignOwnedStmt',
        'RefreshMatViewStmt',
        'ReindexStmt',
        'RenameStmt',
        'RuleStmt',
        'SecLabelStmt',
        'SelectStmt',
        'TransactionStmt',
        'TruncateStmt',
        'UnlistenStmt',
        'UpdateStmt',
        'VacuumStmt',
        'VariableSetStmt',
        'VariableShowStmt',
        'ViewStmt',
      ].sort(),
    );
  });

  it('classifies a hand-built statement', () => {
    const facts = classifyStatement(select([{ ResTarget: { val: { A_Const: { ival: { ival: 1 } } } } }]), [
      'public',
    ]);
    expect(facts).toEqual({ kind: 'SelectStmt', effect: 'read', accesses: [], functions: [], features: [] });
  });

  it.each([
    ['an unknown statement kind', { ReturnStmt: {} }, /unsupported statement \(ReturnStmt\)/],
    [
      'a planner node in an expression',
      select([{ ResTarget: { val: { Var: { varno: 1 } } } }]),
      /unsupported syntax \(Var\)/,
    ],
    [
      'an unknown expression node',
      select([{ ResTarget: { val: { FutureExpr: {} } } }]),
      /unsupported syntax \(FutureExpr\)/,
    ],
    [
      'an unwrapped struct in a field not known to hold one',
      select([{ ResTarget: { val: { A_Expr: { lexpr: { relname: 'secrets' } } } } }]),
      /unsupported syntax \(A_Expr\.lexpr\)/,
    ],
    ['a statement that is not an object', 'select 1', /no statement/],
    [
      'a WITH item that is not a CTE',
      select([], { withClause: { ctes: [{ RangeVar: { relname: 'x' } }] } }),
      /unexpected WITH item/,
    ],
    [
      'a function without a plain name',
      select([{ FuncCall: { funcname: [{ A_Star: {} }] } }]),
      /without a plain name/,
    ],
  ])('is unclassified for %s', (_what, statement, reason) => {
    expect(() => classifyStatement(statement, ['public'])).toThrow(UnclassifiedError);
    expect(() => classifyStatement(statement, ['public'])).toThrow(reason);
  });

  it('walks fields added by a newer parser when they hold known nodes', () => {
    const facts = classifyStatement(
      select([], {
        futureClause: [
          { RangeVar: { relname: 'secrets' } },
          { FuncCall: { funcname: [{ String: { sval: 'f' } }] } },
        ],
      }),
      ['public'],
    );
    expect(facts.accesses).toEqual([
      { relation: { schema: 'public', name: 'secrets' }, operation: 'select' },
    ]);
    expect(facts.functions).toEqual([{ schema: 'public', name: 'f' }]);
  });
});
