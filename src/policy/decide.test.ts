/** decideStatement / decideAnalysis: what each role may do, which rule says so, and what the agent is told. */
import { describe, expect, it } from 'vitest';
import { decideAnalysis, decideStatement } from './decide.js';
import { PG_CATALOG_FUNCTION_NAMES } from './pg-catalog-functions.js';
import type {
  PolicyDecision,
  QualifiedName,
  RelationAccess,
  RolePolicy,
  StatementFacts,
  StatementFeature,
  TableOperation,
} from './policy-types.js';
import { resolveRolePolicy } from './role-policy.js';
import { SAFE_FUNCTION_NAMES } from './safe-functions.js';
import { isSafeSetting } from './safe-settings.js';

function policyOf(role: string, rules: Record<string, unknown>): RolePolicy {
  const resolved = resolveRolePolicy(role, rules);
  if (!resolved.ok) throw new Error(JSON.stringify(resolved.issues));
  return resolved.policy;
}

/** The example role of docs/policy.md, plus a scratch schema it owns and a case-sensitive table. */
const reporting = policyOf('reporting', {
  allow: [
    { tables: ['public.orders', 'public.customers', 'public."Orders"'], operations: ['select'] },
    { tables: ['scratch.*'], operations: ['all'] },
    { tables: ['public.orders'], operations: ['update', 'delete'] },
  ],
  approve: [{ tables: ['public.orders'], operations: ['update', 'delete'] }],
  deny: [{ tables: ['public.secrets'] }, { tables: ['scratch.keys'], operations: ['select'] }],
  functions: ['public.order_total'],
});

/** Only reads: its sessions are read-only. */
const reader = policyOf('reader', { allow: [{ tables: ['public.*'], operations: ['select'] }] });

const name = (schema: string, table: string): QualifiedName => ({ schema, name: table });

function facts(parts: {
  accesses?: [string, string, TableOperation][];
  functions?: [string, string][];
  features?: StatementFeature[];
}): StatementFacts {
  return {
    kind: 'SelectStmt',
    effect: 'read',
    accesses: (parts.accesses ?? []).map(
      ([schema, table, operation]): RelationAccess => ({ relation: name(schema, table), operation }),
    ),
    functions: (parts.functions ?? []).map(([schema, fn]) => name(schema, fn)),
    features: parts.features ?? [],
  };
}

const access = (
  schema: string,
  table: string,
  operation: TableOperation,
  policy = reporting,
): PolicyDecision => decideStatement(facts({ accesses: [[schema, table, operation]] }), policy);
const call = (schema: string, fn: string, policy = reporting): PolicyDecision =>
  decideStatement(facts({ functions: [[schema, fn]] }), policy);
const feature = (used: StatementFeature, policy = reporting): PolicyDecision =>
  decideStatement(facts({ features: [used] }), policy);

describe('table access', () => {
  it('allows what an allow rule grants', () => {
    expect(access('public', 'orders', 'select')).toEqual({ action: 'allow' });
    expect(access('public', 'customers', 'select')).toEqual({ action: 'allow' });
  });

  it('denies by default, naming the table, the operation and where to grant it', () => {
    expect(access('public', 'customers', 'update')).toEqual({
      action: 'deny',
      reason:
        '"update" on public.customers is not allowed for role reporting (no rule in roles.reporting.allow grants it)',
      rule: 'default-deny',
      hint: 'Ask an operator to add "update" on public.customers to roles.reporting.allow.',
    });
    expect(access('public', 'payments', 'select')).toMatchObject({ action: 'deny', rule: 'default-deny' });
  });

  it('lets a deny rule win over every allow rule, with a hint that nothing lifts it', () => {
    expect(access('public', 'secrets', 'select')).toEqual({
      action: 'deny',
      reason: '"select" on public.secrets is denied by roles.reporting.deny[0]',
      rule: 'roles.reporting.deny[0]',
      hint: 'public.secrets is denied by roles.reporting.deny[0]; no agent of role reporting can reach it.',
    });
    // scratch.* allows all; the deny rule names scratch.keys for select only.
    expect(access('scratch', 'keys', 'select')).toMatchObject({
      action: 'deny',
      rule: 'roles.reporting.deny[1]',
    });
    expect(access('scratch', 'keys', 'insert')).toEqual({ action: 'allow' });
  });

  it('makes an operation in an approve rule need approval even though an allow rule grants it too', () => {
    expect(access('public', 'orders', 'delete')).toEqual({
      action: 'approve',
      reason: '"delete" on public.orders requires human approval (roles.reporting.approve[0])',
      rule: 'roles.reporting.approve[0]',
      hint: 'A human must approve this statement (roles.reporting.approve[0]); ask an operator of role reporting.',
    });
    expect(access('public', 'orders', 'update')).toMatchObject({ action: 'approve' });
  });

  it('lets a deny rule win over an approve rule', () => {
    const policy = policyOf('r', {
      approve: [{ tables: ['public.*'], operations: ['delete'] }],
      deny: [{ tables: ['public.orders'], operations: ['delete'] }],
    });
    expect(access('public', 'orders', 'delete', policy)).toMatchObject({
      action: 'deny',
      rule: 'roles.r.deny[0]',
    });
    expect(access('public', 'customers', 'delete', policy)).toMatchObject({ action: 'approve' });
  });

  it('matches schema.* on every table of exactly that schema', () => {
    expect(access('scratch', 'notes', 'ddl')).toEqual({ action: 'allow' });
    expect(access('scratch', 'Notes', 'truncate')).toEqual({ action: 'allow' });
    expect(access('Scratch', 'notes', 'select')).toMatchObject({ action: 'deny' });
    expect(access('scratch_2', 'notes', 'select')).toMatchObject({ action: 'deny' });
    expect(access('public', 'notes', 'select')).toMatchObject({ action: 'deny' });
  });

  it('compares names exactly: "Orders" and orders are different tables', () => {
    const caseOnly = policyOf('r', { allow: [{ tables: ['public."Orders"'], operations: ['select'] }] });
    expect(access('public', 'Orders', 'select', caseOnly)).toEqual({ action: 'allow' });
    expect(access('public', 'orders', 'select', caseOnly)).toMatchObject({
      action: 'deny',
      reason: expect.stringContaining('public.orders'),
    });
    const folded = policyOf('r', { allow: [{ tables: ['PUBLIC.ORDERS'], operations: ['select'] }] });
    expect(access('public', 'orders', 'select', folded)).toEqual({ action: 'allow' });
    expect(access('public', 'ORDERS', 'select', folded)).toMatchObject({
      action: 'deny',
      reason: expect.stringContaining('public."ORDERS"'),
    });
  });

  it('does not let a same-named table in another schema through', () => {
    expect(access('app', 'orders', 'select')).toMatchObject({ action: 'deny', rule: 'default-deny' });
    expect(access('pg_temp', 'orders', 'select')).toMatchObject({ action: 'deny' });
  });

  it('denies everything for a role without rules', () => {
    const empty = policyOf('nobody', {});
    expect(access('public', 'orders', 'select', empty)).toMatchObject({
      action: 'deny',
      rule: 'default-deny',
    });
  });

  it('denies a statement when any one of its accesses is denied', () => {
    const decision = decideStatement(
      facts({
        accesses: [
          ['public', 'orders', 'select'],
          ['public', 'secrets', 'select'],
        ],
      }),
      reporting,
    );
    expect(decision).toMatchObject({ action: 'deny', rule: 'roles.reporting.deny[0]' });
  });

  it('lets a denied access win over one that needs approval, whatever the order', () => {
    const decision = decideStatement(
      facts({
        accesses: [
          ['public', 'orders', 'delete'],
          ['public', 'customers', 'delete'],
        ],
      }),
      reporting,
    );
    expect(decision).toMatchObject({ action: 'deny', reason: expect.stringContaining('public.customers') });
  });
});

describe('function calls', () => {
  it('allows the safe built-ins from pg_catalog', () => {
    for (const fn of [
      'count',
      'lower',
      'now',
      'generate_series',
      'jsonb_build_object',
      'md5',
      'random',
      'format',
    ]) {
      expect(call('pg_catalog', fn)).toEqual({ action: 'allow' });
    }
  });

  it.each([
    'pg_sleep',
    'set_config',
    'current_setting',
    'nextval',
    'setval',
    'lo_export',
    'lo_import',
    'pg_read_file',
    'pg_read_binary_file',
    'pg_ls_dir',
    'pg_stat_file',
    'pg_terminate_backend',
    'pg_cancel_backend',
    'pg_advisory_lock',
    'pg_reload_conf',
    'query_to_xml',
    'table_to_xml',
    'cursor_to_xml',
    'ts_stat',
    'pg_notify',
    'txid_current',
    'pg_get_viewdef',
    'int4in',
  ])('denies pg_catalog.%s, naming it and where to allow it', (fn) => {
    expect(call('pg_catalog', fn)).toEqual({
      action: 'deny',
      reason: `function pg_catalog.${fn} is not allowed for role reporting (not in the safe built-in functions or roles.reporting.functions)`,
      rule: 'default-deny',
      hint: `If role reporting needs it, ask an operator to add pg_catalog.${fn} to roles.reporting.functions.`,
    });
  });

  it('does not trust a safe name outside pg_catalog (a shadowing function in another schema)', () => {
    expect(call('public', 'lower')).toMatchObject({
      action: 'deny',
      reason: expect.stringContaining('public.lower'),
    });
  });

  it('allows exactly the functions the role lists', () => {
    expect(call('public', 'order_total')).toEqual({ action: 'allow' });
    expect(call('app', 'order_total')).toMatchObject({ action: 'deny' });
    expect(call('public', 'Order_Total')).toMatchObject({
      action: 'deny',
      reason: expect.stringContaining('public."Order_Total"'),
    });
    expect(call('public', 'order_total', reader)).toMatchObject({ action: 'deny' });
  });

  it('lets a denied function win over an access that needs approval', () => {
    const decision = decideStatement(
      facts({ accesses: [['public', 'orders', 'delete']], functions: [['pg_catalog', 'pg_sleep']] }),
      reporting,
    );
    expect(decision).toMatchObject({ action: 'deny', reason: expect.stringContaining('pg_sleep') });
  });
});

describe('the safe built-in function list', () => {
  it('names only functions that exist in pg_catalog', () => {
    expect([...SAFE_FUNCTION_NAMES].filter((fn) => !PG_CATALOG_FUNCTION_NAMES.has(fn))).toEqual([]);
  });

  it('holds nothing that sleeps, reads settings or files, uses sequences, locks, backends, SQL text or type I/O', () => {
    const risky =
      /^(pg_sleep|set_config|current_setting|nextval|setval|currval|lastval|lo_|pg_advisory|pg_try_advisory|pg_read|pg_ls_|pg_stat|pg_terminate|pg_cancel|pg_reload|pg_rotate|pg_notify|dblink|pg_replication|pg_logical|pg_create|pg_drop|pg_switch|pg_backup|pg_start|pg_stop|pg_promote|pg_import|txid_|pg_current_xact|pg_get_|has_|pg_has_|query_to|table_to|schema_to|database_to|cursor_to|ts_stat|ts_rewrite|version$|inet_client|inet_server|pg_backend_pid|to_reg|setseed|pg_file|pg_catalog)/;
    expect([...SAFE_FUNCTION_NAMES].filter((fn) => risky.test(fn))).toEqual([]);
    expect([...SAFE_FUNCTION_NAMES].filter((fn) => /_(in|out|recv|send)$/.test(fn))).toEqual([]);
  });
});

describe('statement features', () => {
  it.each([
    'application_name',
    'statement_timeout',
    'lock_timeout',
    'idle_in_transaction_session_timeout',
    'datestyle',
    'timezone',
    'intervalstyle',
    'extra_float_digits',
    'client_min_messages',
    'bytea_output',
    'default_transaction_isolation',
    'transaction_isolation',
  ])('allows SET and RESET of %s', (setting) => {
    expect(feature({ feature: 'set', detail: setting })).toEqual({ action: 'allow' });
    expect(feature({ feature: 'reset', detail: setting })).toEqual({ action: 'allow' });
  });

  it('compares setting names case-insensitively, as the server does', () => {
    expect(isSafeSetting('TimeZone')).toBe(true);
    expect(feature({ feature: 'set', detail: 'DateStyle' })).toEqual({ action: 'allow' });
    expect(feature({ feature: 'set', detail: 'Search_Path' })).toMatchObject({ action: 'deny' });
  });

  it.each([
    ['role', 'the role is fixed by the gateway'],
    ['session_authorization', 'the session user is fixed by the gateway'],
    ['search_path', 'the gateway pins the search_path'],
    ['default_transaction_read_only', 'read-only'],
    ['transaction_read_only', 'read-only'],
    ['client_encoding', 'read SQL text the same way'],
    ['standard_conforming_strings', 'read string literals the same way'],
    ['work_mem', 'not among the settings agents may change'],
    ['session_replication_role', 'not among the settings agents may change'],
    ['log_statement', 'not among the settings agents may change'],
  ])('refuses SET %s, naming it and why', (setting, why) => {
    const decision = feature({ feature: 'set', detail: setting });
    expect(decision).toMatchObject({ action: 'deny', rule: 'built-in' });
    if (decision.action === 'allow') return;
    expect(decision.reason).toContain(`SET ${setting} is refused`);
    expect(decision.reason).toContain(why);
  });

  it('allows RESET ALL (it returns to the pinned startup values) but not RESET of a pinned setting', () => {
    expect(feature({ feature: 'reset', detail: 'all' })).toEqual({ action: 'allow' });
    expect(feature({ feature: 'reset', detail: 'search_path' })).toMatchObject({
      action: 'deny',
      reason: expect.stringContaining('RESET search_path is refused'),
    });
    expect(feature({ feature: 'set', detail: 'all' })).toMatchObject({ action: 'deny' });
  });

  it('fails closed on a setting whose name the analyzer could not determine', () => {
    expect(feature({ feature: 'set' })).toMatchObject({ action: 'deny', rule: 'fail-closed' });
  });

  it('refuses a read-write transaction for a read-only role only', () => {
    expect(feature({ feature: 'read-write-transaction' }, reader)).toMatchObject({
      action: 'deny',
      rule: 'read-only',
      reason: expect.stringContaining('role reader may not write'),
    });
    expect(feature({ feature: 'read-write-transaction' }, reporting)).toEqual({ action: 'allow' });
  });

  it.each([
    ['copy-file-or-program', 'COPY to or from a file or program on the database server'],
    ['do-block', 'DO blocks'],
    ['load', 'LOAD'],
    ['two-phase-commit', 'two-phase commit'],
    ['privilege', 'GRANT, REVOKE and role management'],
    ['server-admin', 'server administration'],
    ['non-table-ddl', 'DDL on objects other than tables'],
    ['listen', 'LISTEN'],
    ['notify', 'NOTIFY'],
  ] as const)('refuses %s for every role', (refused, what) => {
    for (const policy of [reporting, reader]) {
      const decision = feature({ feature: refused }, policy);
      expect(decision).toMatchObject({ action: 'deny', rule: 'built-in' });
      if (decision.action !== 'allow') expect(decision.reason).toContain(what);
    }
  });

  it('shows the feature detail in the reason', () => {
    expect(feature({ feature: 'non-table-ddl', detail: 'CREATE FUNCTION' })).toMatchObject({
      reason: expect.stringContaining('(CREATE FUNCTION)'),
    });
  });

  it.each(['unlisten', 'discard', 'prepare', 'deallocate', 'declare-cursor', 'cursor-use', 'call'] as const)(
    'allows %s (what it runs is judged by the statement’s other facts)',
    (allowed) => {
      expect(feature({ feature: allowed, detail: 'x' })).toEqual({ action: 'allow' });
    },
  );

  it('denies an EXECUTE that reached the decision unresolved', () => {
    expect(feature({ feature: 'execute', detail: 'q1' })).toEqual({
      action: 'deny',
      reason: 'EXECUTE q1: unknown prepared statement',
      rule: 'fail-closed',
      hint: 'PREPARE the statement in this session first; only statements prepared here can be executed.',
    });
  });

  it('fails closed on a feature it does not know', () => {
    const unknown = { feature: 'teleport' } as unknown as StatementFeature;
    expect(feature(unknown)).toMatchObject({ action: 'deny', rule: 'fail-closed' });
  });

  it('judges CALL’s procedure as a function', () => {
    const decision = decideStatement(
      facts({ features: [{ feature: 'call' }], functions: [['public', 'archive_orders']] }),
      reporting,
    );
    expect(decision).toMatchObject({
      action: 'deny',
      reason: expect.stringContaining('public.archive_orders'),
    });
  });

  it('reports a refused feature before the table access of the same statement', () => {
    const decision = decideStatement(
      facts({
        features: [{ feature: 'copy-file-or-program' }],
        accesses: [['public', 'payments', 'select']],
      }),
      reporting,
    );
    expect(decision).toMatchObject({ rule: 'built-in' });
  });
});

describe('decideAnalysis: a whole message', () => {
  const select = facts({ accesses: [['public', 'orders', 'select']], functions: [['pg_catalog', 'count']] });
  const del = facts({ accesses: [['public', 'orders', 'delete']] });
  const drop = facts({ accesses: [['public', 'orders', 'ddl']] });

  it('denies what the analyzer could not classify, with its reason', () => {
    expect(decideAnalysis({ ok: false, reason: 'syntax error at or near "selec"' }, reporting)).toEqual({
      action: 'deny',
      reason: 'syntax error at or near "selec"',
      rule: 'fail-closed',
      hint: 'Airlock refuses SQL it cannot analyse; rewrite the statement in plain SQL.',
    });
  });

  it('allows an empty message', () => {
    expect(decideAnalysis({ ok: true, statements: [] }, reporting)).toEqual({ action: 'allow' });
  });

  it('allows a message whose every statement is allowed', () => {
    expect(decideAnalysis({ ok: true, statements: [select, select] }, reporting)).toEqual({
      action: 'allow',
    });
  });

  it('passes a single statement’s decision through unchanged', () => {
    expect(decideAnalysis({ ok: true, statements: [del] }, reporting)).toEqual(
      decideStatement(del, reporting),
    );
  });

  it('denies the whole message when one statement is denied, even after one that needs approval', () => {
    expect(decideAnalysis({ ok: true, statements: [select, del, drop] }, reporting)).toMatchObject({
      action: 'deny',
      reason:
        'statement 3 of 3: "ddl" on public.orders is not allowed for role reporting (no rule in roles.reporting.allow grants it)',
      rule: 'default-deny',
    });
  });

  it('needs approval when a statement needs it and none is denied', () => {
    expect(decideAnalysis({ ok: true, statements: [select, del] }, reporting)).toMatchObject({
      action: 'approve',
      reason:
        'statement 2 of 2: "delete" on public.orders requires human approval (roles.reporting.approve[0])',
    });
  });
});
