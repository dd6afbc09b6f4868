/** resolveRolePolicy: what a role's YAML resolves to, and a precise, fixable error for anything doubtful. */
import { describe, expect, it } from 'vitest';
import { TABLE_OPERATIONS } from './policy-types.js';
import { type RolePolicyIssue, resolveRolePolicy } from './role-policy.js';

function policyOf(rules: Record<string, unknown>) {
  const resolved = resolveRolePolicy('reporting', rules);
  if (!resolved.ok)
    throw new Error(resolved.issues.map((issue) => `${issue.key}: ${issue.problem}`).join('\n'));
  return resolved.policy;
}

function issuesOf(rules: Record<string, unknown>): RolePolicyIssue[] {
  const resolved = resolveRolePolicy('reporting', rules);
  if (resolved.ok) throw new Error('expected the policy to be refused');
  return resolved.issues;
}

/** The tables of the first allow rule for a list of table texts. */
function tablesOf(...tables: string[]) {
  return policyOf({ allow: [{ tables, operations: ['select'] }] }).allow[0]?.tables;
}

describe('resolveRolePolicy: a valid role', () => {
  it('gives a role without rules an empty, read-only policy on search_path public', () => {
    expect(policyOf({})).toEqual({
      role: 'reporting',
      searchPath: ['public'],
      allow: [],
      approve: [],
      deny: [],
      functions: [],
      readOnly: true,
      destructive: 'approve',
    });
  });

  it('treats empty keys (YAML null) and empty lists of rules as no rules', () => {
    expect(policyOf({ allow: null, approve: [], deny: null, functions: [] }).allow).toEqual([]);
  });

  it('names each rule by its config key', () => {
    const policy = policyOf({
      allow: [
        { tables: ['public.orders'], operations: ['select'] },
        { tables: ['public.customers'], operations: ['select'] },
      ],
      approve: [{ tables: ['public.orders'], operations: ['delete'] }],
      deny: [{ tables: ['public.secrets'] }],
    });
    expect(policy.allow.map((rule) => rule.source)).toEqual([
      'roles.reporting.allow[0]',
      'roles.reporting.allow[1]',
    ]);
    expect(policy.approve[0]?.source).toBe('roles.reporting.approve[0]');
    expect(policy.deny[0]?.source).toBe('roles.reporting.deny[0]');
  });

  it('folds unquoted names to lower case and keeps quoted names exactly', () => {
    expect(
      tablesOf('Public.Orders', 'public."Orders"', '"Sales"."Q1 ""draft"""', 'public.café', 'public.CAFÉ'),
    ).toEqual([
      { schema: 'public', name: 'orders' },
      { schema: 'public', name: 'Orders' },
      { schema: 'Sales', name: 'Q1 "draft"' },
      { schema: 'public', name: 'café' },
      // Like the server in a UTF-8 database, only A-Z are folded.
      { schema: 'public', name: 'cafÉ' },
    ]);
  });

  it('reads schema.* as every table of the schema and accepts names with $ and digits', () => {
    expect(tablesOf('app.*', '"App".*', 'public.t$1')).toEqual([
      { schema: 'app', name: '*' },
      { schema: 'App', name: '*' },
      { schema: 'public', name: 't$1' },
    ]);
  });

  it('expands `all`, drops repeats and keeps operations in a fixed order', () => {
    const policy = policyOf({
      allow: [
        { tables: ['public.a'], operations: ['all'] },
        { tables: ['public.b'], operations: ['update', 'select', 'select'] },
      ],
    });
    expect(policy.allow[0]?.operations).toEqual(TABLE_OPERATIONS);
    expect(policy.allow[1]?.operations).toEqual(['select', 'update']);
  });

  it('lets a deny rule leave out operations, meaning all of them', () => {
    expect(policyOf({ deny: [{ tables: ['public.secrets'] }] }).deny[0]?.operations).toEqual(
      TABLE_OPERATIONS,
    );
  });

  it('reads search_path and functions as identifiers', () => {
    const policy = policyOf({
      search_path: ['App', '"Mixed"', 'public'],
      functions: ['public.order_total', '"Billing"."Total"'],
    });
    expect(policy.searchPath).toEqual(['app', 'Mixed', 'public']);
    expect(policy.functions).toEqual([
      { schema: 'public', name: 'order_total' },
      { schema: 'Billing', name: 'Total' },
    ]);
  });

  it.each([
    ['only reads', [{ tables: ['public.a'], operations: ['select'] }], [], true],
    // The server refuses SELECT … FOR UPDATE in a read-only transaction.
    ['may lock rows', [{ tables: ['public.a'], operations: ['select', 'lock'] }], [], false],
    ['may insert', [{ tables: ['public.a'], operations: ['select', 'insert'] }], [], false],
    ['may run ddl', [{ tables: ['scratch.*'], operations: ['ddl'] }], [], false],
    ['may delete after approval', [], [{ tables: ['public.a'], operations: ['delete'] }], false],
  ])(
    'is read-only exactly when no allow or approve rule grants a write: a role that %s',
    (_, allow, approve, readOnly) => {
      expect(
        policyOf({ allow, approve, deny: [{ tables: ['public.a'], operations: ['delete'] }] }).readOnly,
      ).toBe(readOnly);
    },
  );
});

describe('resolveRolePolicy: refusals', () => {
  const allowTable = (table: unknown) => ({ allow: [{ tables: [table], operations: ['select'] }] });
  const key = 'roles.reporting.allow[0].tables[0]';

  it.each([
    ['orders', '"orders" is not schema-qualified', 'write public.orders'],
    ['*.orders', 'uses a wildcard for the schema', 'name the schema (one rule entry per schema)'],
    ['public.ord*', '* inside a name', undefined],
    ['public.*s', '* inside a name', undefined],
    ['shop.public.orders', 'has more parts than schema and name', undefined],
    ['public."*"', 'names a table called "*"', undefined],
    ['public.', 'ends without a name', undefined],
    ['public..orders', 'has an empty name part', undefined],
    ['public."orders', 'has an unterminated quoted name', undefined],
    ['public.""', 'has an empty quoted name', undefined],
    ['public.1orders', 'where a name belongs', undefined],
    ['public.order-items', 'where a dot belongs', undefined],
    [`public.${'a'.repeat(64)}`, 'longer than 63 bytes', undefined],
    ['', 'is empty', undefined],
    [42, 'expected text, got a number', undefined],
  ])('refuses the table %j', (table, problem, fix) => {
    const [issue, ...rest] = issuesOf(allowTable(table));
    expect(rest).toEqual([]);
    expect(issue?.key).toBe(key);
    expect(issue?.problem).toContain(problem);
    if (fix !== undefined) expect(issue?.fix).toBe(fix);
  });

  it('suggests the first schema of the search_path for an unqualified table', () => {
    const [issue] = issuesOf({ search_path: ['app'], ...allowTable('orders') });
    expect(issue?.fix).toBe('write app.orders');
  });

  it.each([
    [{ operations: ['select'] }, 'roles.reporting.allow[0].tables', 'is required'],
    [{ tables: [], operations: ['select'] }, 'roles.reporting.allow[0].tables', 'is empty'],
    [
      { tables: 'public.orders', operations: ['select'] },
      'roles.reporting.allow[0].tables',
      'expected a list, got text',
    ],
    [{ tables: ['public.orders'] }, 'roles.reporting.allow[0].operations', 'is required'],
    [{ tables: ['public.orders'], operations: [] }, 'roles.reporting.allow[0].operations', 'is empty'],
    [
      { tables: ['public.orders'], operations: ['SELECT'] },
      'roles.reporting.allow[0].operations[0]',
      '"SELECT" is not an operation',
    ],
    [
      { tables: ['public.orders'], operations: ['read'] },
      'roles.reporting.allow[0].operations[0]',
      '"read" is not an operation',
    ],
    [
      { tables: ['public.orders'], operations: ['select'], table: ['public.x'] },
      'roles.reporting.allow[0].table',
      'is not a known key',
    ],
    ['select', 'roles.reporting.allow[0]', 'expected a mapping with tables and operations, got text'],
  ])('refuses the allow rule %j', (rule, issueKey, problem) => {
    const issues = issuesOf({ allow: [rule] });
    expect(issues.map((issue) => issue.key)).toEqual([issueKey]);
    expect(issues[0]?.problem).toBe(problem);
  });

  it('shows how to write a list when given a single text', () => {
    const [issue] = issuesOf({ allow: [{ tables: 'public.orders', operations: ['select'] }] });
    expect(issue?.fix).toBe('write [public.orders]');
  });

  it('refuses an empty operations list in a deny rule too', () => {
    expect(
      issuesOf({ deny: [{ tables: ['public.secrets'], operations: [] }] }).map((issue) => issue.key),
    ).toEqual(['roles.reporting.deny[0].operations']);
  });

  it('refuses unknown keys in a role, listing the known ones', () => {
    expect(issuesOf({ alow: [], Deny: [] })).toEqual([
      {
        key: 'roles.reporting.alow',
        problem: 'is not a known key',
        fix: 'remove it or fix the spelling (known keys: upstream, search_path, allow, approve, deny, functions, mask, approval)',
      },
      expect.objectContaining({ key: 'roles.reporting.Deny' }),
    ]);
  });

  it('refuses a rule list that is not a list', () => {
    expect(issuesOf({ deny: { tables: ['public.secrets'] } })[0]).toMatchObject({
      key: 'roles.reporting.deny',
      problem: 'expected a list, got a mapping',
    });
  });

  it.each([
    [['order_total'], 'roles.reporting.functions[0]', '"order_total" is not schema-qualified'],
    [['public.*'], 'roles.reporting.functions[0]', 'uses a wildcard'],
    [
      ['public.order_total(int)'],
      'roles.reporting.functions[0]',
      '"public.order_total(int)" has "(" where a dot belongs',
    ],
    ['public.order_total', 'roles.reporting.functions', 'expected a list, got text'],
  ])('refuses functions %j', (functions, issueKey, problem) => {
    expect(issuesOf({ functions })).toEqual([expect.objectContaining({ key: issueKey, problem })]);
  });

  it.each([
    [[], 'roles.reporting.search_path', 'is empty'],
    ['public', 'roles.reporting.search_path', 'expected a list, got text'],
    [
      ['public.orders'],
      'roles.reporting.search_path[0]',
      '"public.orders" has more parts than one schema name',
    ],
    [['*'], 'roles.reporting.search_path[0]', 'is a wildcard'],
    [['"$user"'], 'roles.reporting.search_path[0]', '"$user" is not supported'],
    [['pg_temp'], 'roles.reporting.search_path[0]', 'is the temporary schema'],
  ])('refuses search_path %j', (searchPath, issueKey, problem) => {
    expect(issuesOf({ search_path: searchPath })).toEqual([
      expect.objectContaining({ key: issueKey, problem }),
    ]);
  });

  it('reports every problem at once', () => {
    const issues = issuesOf({
      search_path: [],
      allow: [{ tables: ['orders'], operations: ['selct'] }],
      approve: [{ tables: [], operations: ['delete'] }],
      functions: ['now'],
    });
    expect(issues.map((issue) => issue.key)).toEqual([
      'roles.reporting.search_path',
      'roles.reporting.allow[0].tables[0]',
      'roles.reporting.allow[0].operations[0]',
      'roles.reporting.approve[0].tables',
      'roles.reporting.functions[0]',
    ]);
  });

  it('ignores upstream (the config loader reads it) and inherited members', () => {
    const rules = Object.create({ allow: 'inherited' }) as Record<string, unknown>;
    rules.upstream = 'shop';
    expect(policyOf(rules).allow).toEqual([]);
  });
});
