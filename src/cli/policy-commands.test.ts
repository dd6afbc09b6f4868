/** `airlock policy check|lint` run as a real child process: output, facts and the exit codes CI relies on. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RealPostgres, startRealPostgres } from '../../test/helpers/real-postgres.js';
import { type CliResult, runAirlockCli } from '../../test/helpers/run-cli.js';

let dir: string;

const airlock = runAirlockCli;

/** Writes a config with the given `roles:` lines (indented by two spaces) and returns its path. */
function writeConfig(fileName: string, roleLines: readonly string[]): string {
  const path = join(dir, fileName);
  writeFileSync(
    path,
    [
      'listen:',
      '  postgres: 127.0.0.1:6432',
      'upstreams:',
      '  shop:',
      '    url: postgres://gw@127.0.0.1:5432/shop',
      // Never set: policy commands must not need the gateway's database password.
      `    password: \${AIRLOCK_TEST_UNSET_DB_PASSWORD}`,
      '    tls: disable',
      'roles:',
      ...roleLines,
      '',
    ].join('\n'),
  );
  return path;
}

const REPORTING = [
  '  reporting:',
  '    upstream: shop',
  '    allow:',
  '      - tables: [public.orders, public.customers]',
  '        operations: [select]',
  '    approve:',
  '      - tables: [public.orders]',
  '        operations: [update, delete]',
  '    deny:',
  '      - tables: [public.secrets]',
  '    functions: [public.order_total]',
  '  apps:',
  '    upstream: shop',
  '    search_path: [app]',
  '    allow:',
  '      - tables: [app.*]',
  '        operations: [select]',
];

let configPath: string;

function check(sql: string, ...extra: string[]): CliResult {
  return airlock(['policy', 'check', '--config', configPath, '--role', 'reporting', ...extra, sql]);
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'airlock-policy-cli-'));
  configPath = writeConfig('airlock.yaml', REPORTING);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('airlock policy check', () => {
  it('exits 0 and shows the facts when the statement is allowed', () => {
    const result = check('select id, public.order_total(id) from public.orders where status = lower($1)');
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('allow');
    expect(result.stdout).toContain('statement 1: SelectStmt (read)');
    expect(result.stdout).toContain('select public.orders');
    expect(result.stdout).toMatch(/functions: .*public\.order_total/);
    expect(result.stdout).toMatch(/functions: .*pg_catalog\.lower/);
  });

  it('exits 1 naming the rule and the hint when the statement is denied', () => {
    const result = check('select * from public.secrets');
    expect(result.status).toBe(1);
    expect(result.stdout.split('\n').slice(0, 3)).toEqual([
      'deny: "select" on public.secrets is denied by roles.reporting.deny[0]',
      '  rule: roles.reporting.deny[0]',
      '  hint: public.secrets is denied by roles.reporting.deny[0]; no agent of role reporting can reach it.',
    ]);
  });

  it('exits 3 when the statement needs approval', () => {
    const result = check('delete from public.orders where id = 1');
    expect(result.status).toBe(3);
    expect(result.stdout).toMatch(/^needs approval: "delete" on public\.orders requires human approval/);
  });

  it('resolves unqualified names through the role’s search_path', () => {
    // Role apps has search_path [app]: `orders` is app.orders, which app.* allows.
    const result = airlock([
      'policy',
      'check',
      '--config',
      configPath,
      '--role',
      'apps',
      '--json',
      'select * from orders',
    ]);
    expect(result.status).toBe(0);
    const output = JSON.parse(result.stdout) as { statements: { accesses: unknown[] }[] };
    expect(output.statements[0]?.accesses).toContainEqual({
      relation: { schema: 'app', name: 'orders' },
      operation: 'select',
    });
  });

  it('prints exactly one JSON object with the decision and every statement’s facts under --json', () => {
    const result = check('select 1; delete from public.customers', '--json');
    expect(result.status).toBe(1);
    const output = JSON.parse(result.stdout) as {
      decision: { action: string; rule: string; reason: string };
      statements: { kind: string; accesses: unknown[] }[];
    };
    expect(Object.keys(output).sort()).toEqual(['decision', 'statements']);
    expect(output.decision).toMatchObject({ action: 'deny', rule: 'default-deny' });
    expect(output.decision.reason).toContain('statement 2 of 2');
    expect(output.statements.map((facts) => facts.kind)).toEqual(['SelectStmt', 'DeleteStmt']);
    expect(output.statements[1]?.accesses).toContainEqual({
      relation: { schema: 'public', name: 'customers' },
      operation: 'delete',
    });
  });

  it('denies SQL it cannot parse (fail closed), with no facts', () => {
    const result = check('selec * from public.orders', '--json');
    expect(result.status).toBe(1);
    const output = JSON.parse(result.stdout) as { decision: { rule: string }; statements: unknown[] };
    expect(output.decision.rule).toBe('fail-closed');
    expect(output.statements).toEqual([]);
  });

  it('refuses what no rule can allow, such as SET ROLE and COPY … TO PROGRAM', () => {
    expect(check('set role postgres').status).toBe(1);
    expect(check("copy public.orders to program 'cat'").status).toBe(1);
    expect(check("select pg_catalog.pg_read_file('/etc/passwd')").stdout).toContain(
      'pg_catalog.pg_read_file',
    );
  });

  it('reads the SQL from standard input when given -', () => {
    const result = airlock(
      ['policy', 'check', '--config', configPath, '--role', 'reporting', '-'],
      'select count(*) from public.customers;\n',
    );
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('exits 2 naming the defined roles when the role is unknown', () => {
    const result = airlock(['policy', 'check', '--config', configPath, '--role', 'admin', 'select 1']);
    expect(result.status).toBe(2);
    expect(result.stderr).toBe('airlock: unknown role "admin"; defined roles: apps, reporting\n');
  });

  it('exits 2 with the key and the fix when the policy in the config is wrong', () => {
    const broken = writeConfig('broken.yaml', [
      '  reporting:',
      '    upstream: shop',
      '    allow:',
      '      - tables: [orders]',
      '        operations: [select]',
    ]);
    const result = airlock(['policy', 'check', '--config', broken, '--role', 'reporting', 'select 1']);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(
      'roles.reporting.allow[0].tables[0]: "orders" is not schema-qualified; write public.orders',
    );
  });
});

describe('airlock policy lint', () => {
  it('exits 0 when every rule can take effect', () => {
    const result = airlock(['policy', 'lint', '--config', configPath]);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toBe('no findings in 2 roles\n');
  });

  it('exits 1 listing rules that can never match, allow rules that always need approval and redundant functions', () => {
    const path = writeConfig('findings.yaml', [
      '  reporting:',
      '    upstream: shop',
      '    allow:',
      '      - tables: [public.secrets]',
      '        operations: [select]',
      '      - tables: [public.orders]',
      '        operations: [delete]',
      '    approve:',
      '      - tables: [public.orders]',
      '        operations: [delete]',
      '    deny:',
      '      - tables: [public.secrets]',
      '    functions: [pg_catalog.lower]',
      '  other:',
      '    upstream: shop',
    ]);
    const result = airlock(['policy', 'lint', '--config', path]);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(1);
    expect(result.stdout.trimEnd().split('\n')).toEqual([
      'roles.reporting.allow[0]: can never match: every table and operation it names is denied by roles.reporting.deny[0]',
      'roles.reporting.allow[1]: never allows anything by itself: every table and operation it names needs approval (roles.reporting.approve[0])',
      'roles.reporting.functions[0]: pg_catalog.lower is already in the safe built-in functions; remove it',
      '3 findings in 2 roles',
    ]);
    const one = airlock(['policy', 'lint', '--config', path, '--role', 'other']);
    expect(one.status).toBe(0);
    expect(one.stdout).toBe('no findings in 1 role\n');
  });

  describe('with --database-url', () => {
    let db: RealPostgres;

    beforeAll(async () => {
      db = await startRealPostgres();
      const client = new pg.Client({ connectionString: db.url(db.superuser) });
      await client.connect();
      try {
        await client.query(`
          create table public.orders (id int);
          create table public.customers (id int);
          create table public."Secrets" (id int);
          create schema app;
          create function public.order_total(id int) returns int language sql as 'select 1';
        `);
      } finally {
        await client.end();
      }
    });

    afterAll(async () => {
      await db?.stop();
    });

    it('reports named tables, schemas and functions the database does not have', () => {
      const path = writeConfig('database.yaml', [
        '  reporting:',
        '    upstream: shop',
        '    search_path: [app, public, reports]',
        '    allow:',
        '      - tables: [public.orders, public.customers, public.invoices, public."Secrets", app.*, audit.*]',
        '        operations: [select]',
        '    deny:',
        '      - tables: [public.secrets]',
        '    functions: [public.order_total, public.missing_fn]',
      ]);
      const result = airlock(['policy', 'lint', '--config', path, '--database-url', db.url(db.superuser)]);
      expect(result.stderr).toBe('');
      expect(result.status).toBe(1);
      expect(result.stdout.trimEnd().split('\n')).toEqual([
        'roles.reporting.allow[0].tables[2]: table public.invoices does not exist in the database',
        // Case matters: the database has "Secrets", not secrets.
        'roles.reporting.deny[0].tables[0]: table public.secrets does not exist in the database',
        'roles.reporting.allow[0].tables[5]: schema audit does not exist in the database',
        'roles.reporting.search_path[2]: schema reports does not exist in the database',
        'roles.reporting.functions[1]: function public.missing_fn does not exist in the database',
        '5 findings in 1 role',
      ]);
    });

    it('exits 0 when everything named exists', () => {
      const path = writeConfig('exists.yaml', [
        '  reporting:',
        '    upstream: shop',
        '    allow:',
        '      - tables: [public.orders, app.*]',
        '        operations: [select]',
      ]);
      const clean = airlock(['policy', 'lint', '--config', path, '--database-url', db.url(db.superuser)]);
      expect(clean.stderr).toBe('');
      expect(clean.status).toBe(0);
    });

    it('exits 2 when the database cannot be reached', () => {
      const result = airlock([
        'policy',
        'lint',
        '--config',
        configPath,
        '--database-url',
        'postgres://nobody@127.0.0.1:1/none',
      ]);
      expect(result.status).toBe(2);
      expect(result.stderr).toContain('cannot connect to --database-url');
    });
  });
});
