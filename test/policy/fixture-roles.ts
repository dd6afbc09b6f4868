/**
 * The roles the policy corpus is judged under, as YAML lines of a `roles:` block (indented by two
 * spaces): what `startTestGateway(db, { policy: true, rolesYaml })` takes, and what the unit runner
 * feeds the real config loader.
 */

/** Role names of the fixture. */
export type FixtureRole = 'analyst' | 'clerk';

export const FIXTURE_ROLES: readonly FixtureRole[] = ['analyst', 'clerk'];

export const FIXTURE_ROLES_YAML = [
  '  analyst:                 # read-only: sessions start read-only',
  '    upstream: shop',
  '    search_path: [public]',
  '    allow:',
  '      - tables: [public.orders, public.customers, public.order_items, public.order_summary]',
  '        operations: [select]',
  '    deny:',
  '      - tables: [public.secrets]',
  '    functions: [public.order_total]',
  '  clerk:                   # may write orders, needs approval to delete them',
  '    upstream: shop',
  '    search_path: [public]',
  '    allow:',
  '      - tables: [public.orders, public.order_items]',
  '        operations: [select, insert, update]',
  '      - tables: [scratch.*]',
  '        operations: [all]',
  '    approve:',
  '      - tables: [public.orders]',
  '        operations: [delete]',
  '    deny:',
  '      - tables: [public.secrets]',
].join('\n');

/**
 * A whole config file around the fixture roles, for unit tests that resolve the policy through the
 * real loader without a cluster (the upstream is never contacted).
 */
export function fixtureConfigYaml(): string {
  return [
    'listen:',
    '  postgres: 127.0.0.1:0',
    'store: "sqlite::memory:"',
    'upstreams:',
    '  shop:',
    '    url: postgres://airlock@127.0.0.1:5432/shop',
    '    tls: disable',
    'roles:',
    FIXTURE_ROLES_YAML,
  ].join('\n');
}
