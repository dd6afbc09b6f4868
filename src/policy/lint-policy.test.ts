/** lintRolePolicy / referencedObjects: rules that cannot take effect, and the names a policy relies on. */
import { describe, expect, it } from 'vitest';
import { lintRolePolicy, referencedObjects } from './lint-policy.js';
import type { RolePolicy } from './policy-types.js';
import { resolveRolePolicy } from './role-policy.js';

function policyOf(rules: Record<string, unknown>): RolePolicy {
  const resolved = resolveRolePolicy('r', rules);
  if (!resolved.ok) throw new Error(JSON.stringify(resolved.issues));
  return resolved.policy;
}

describe('lintRolePolicy', () => {
  it('finds nothing in a policy whose every rule can take effect', () => {
    const policy = policyOf({
      allow: [{ tables: ['public.orders', 'public.customers'], operations: ['select', 'update'] }],
      approve: [{ tables: ['public.orders'], operations: ['update'] }],
      deny: [{ tables: ['public.secrets'] }],
      functions: ['public.order_total'],
    });
    expect(lintRolePolicy(policy)).toEqual([]);
  });

  it('reports allow and approve rules whose every table and operation is denied', () => {
    const policy = policyOf({
      allow: [
        { tables: ['public.secrets'], operations: ['select'] },
        { tables: ['app.a', 'app.b'], operations: ['select', 'insert'] },
        { tables: ['app.*'], operations: ['select'] },
      ],
      approve: [{ tables: ['public.secrets'], operations: ['delete'] }],
      deny: [
        { tables: ['public.secrets'] },
        { tables: ['app.*'], operations: ['insert'] },
        { tables: ['app.a', 'app.b'], operations: ['select'] },
      ],
    });
    expect(lintRolePolicy(policy)).toEqual([
      {
        key: 'roles.r.allow[0]',
        problem: 'can never match: every table and operation it names is denied by roles.r.deny[0]',
      },
      {
        key: 'roles.r.allow[1]',
        problem:
          'can never match: every table and operation it names is denied by roles.r.deny[1], roles.r.deny[2]',
      },
      {
        key: 'roles.r.approve[0]',
        problem: 'can never match: every table and operation it names is denied by roles.r.deny[0]',
      },
    ]);
  });

  it('does not count a deny on one table as covering a wildcard', () => {
    const policy = policyOf({
      allow: [{ tables: ['app.*'], operations: ['select'] }],
      deny: [{ tables: ['app.secrets'] }],
    });
    expect(lintRolePolicy(policy)).toEqual([]);
  });

  it('reports allow rules that always need approval', () => {
    const policy = policyOf({
      allow: [
        { tables: ['public.orders'], operations: ['delete'] },
        { tables: ['public.orders', 'public.secrets'], operations: ['delete'] },
      ],
      approve: [{ tables: ['public.*'], operations: ['delete', 'update'] }],
      deny: [{ tables: ['public.secrets'] }],
    });
    expect(lintRolePolicy(policy)).toEqual([
      {
        key: 'roles.r.allow[0]',
        problem:
          'never allows anything by itself: every table and operation it names needs approval (roles.r.approve[0])',
      },
      {
        key: 'roles.r.allow[1]',
        problem:
          'never allows anything by itself: every table and operation it names needs approval (roles.r.approve[0])',
      },
    ]);
  });

  it('reports listed functions the safe default already allows', () => {
    const policy = policyOf({ functions: ['public.lower', 'pg_catalog.lower', 'pg_catalog.pg_sleep'] });
    expect(lintRolePolicy(policy)).toEqual([
      {
        key: 'roles.r.functions[1]',
        problem: 'pg_catalog.lower is already in the safe built-in functions; remove it',
      },
    ]);
  });
});

describe('referencedObjects', () => {
  it('lists named tables, wildcard and search_path schemas and functions with their keys', () => {
    const policy = policyOf({
      search_path: ['app', 'public'],
      allow: [{ tables: ['public.orders', 'scratch.*'], operations: ['select'] }],
      deny: [{ tables: ['public."Secrets"'] }],
      functions: ['public.order_total'],
    });
    expect(referencedObjects(policy)).toEqual({
      tables: [
        { key: 'roles.r.allow[0].tables[0]', table: { schema: 'public', name: 'orders' } },
        { key: 'roles.r.deny[0].tables[0]', table: { schema: 'public', name: 'Secrets' } },
      ],
      schemas: [
        { key: 'roles.r.allow[0].tables[1]', schema: 'scratch' },
        { key: 'roles.r.search_path[0]', schema: 'app' },
        { key: 'roles.r.search_path[1]', schema: 'public' },
      ],
      functions: [{ key: 'roles.r.functions[0]', function: { schema: 'public', name: 'order_total' } }],
    });
  });
});
