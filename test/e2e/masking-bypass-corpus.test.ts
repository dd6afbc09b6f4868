/**
 * The masking bypass corpus: queries that try to get personal data past the masking — aliases, every
 * expression form, JSON functions, subqueries, CTEs, views, set operations, casts, COPY, error messages,
 * binary results — each run through the gateway against a real PostgreSQL while every byte the gateway
 * sends the client is captured. No seeded PII value (nor its digits-only form) may appear in them,
 * whether the statement succeeds masked or is refused.
 */
import { spawn } from 'node:child_process';
import type net from 'node:net';
import pg from 'pg';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IssuedToken } from '../../src/identity/issue-token.js';
import type { RealPostgres } from '../helpers/real-postgres.js';
import { startRealPostgres } from '../helpers/real-postgres.js';
import { startTestGateway, type TestGateway } from '../helpers/test-gateway.js';

const ROLES_YAML = [
  '  analyst:',
  '    upstream: shop',
  '    allow:',
  '      - tables: [public.customers, public.customers_v, public.contacts_v, public.contacts_vv, public.leads]',
  '        operations: [select]',
  '      - tables: [public.leads]',
  '        operations: [insert, update, delete]',
  '    functions: [pg_catalog.query_to_xml]',
  '    mask:',
  '      - columns: [public.customers.email, public.leads.email]',
  '        strategy: partial',
  '      - columns: [public.customers.phone]',
  '        strategy: hash',
  '      - classes: [ssn, credit_card]',
  '        strategy: redact',
  '      - columns: [public.customers.full_name]',
  '        strategy: "null"',
  '      - classes: [email, phone, iban]',
  '        strategy: redact',
].join('\n');

const EXTRA_YAML = [
  'classify:',
  '  public.customers.ssn: ssn',
  '  public.customers.card_number: credit_card',
  'masking:',
  `  hash_key: ${'k'.repeat(40)}`,
].join('\n');

/** Seeded rows: every value here is personal data that must never reach the analyst in clear. */
const PEOPLE = [
  {
    id: 1,
    name: 'Ann Lee',
    email: 'ann.lee@example.com',
    ssn: '219-09-9999',
    card: '4111 1111 1111 1111',
    phone: '+1 415 555 0132',
  },
  {
    id: 2,
    name: 'Bo Chan',
    email: 'bo.chan@example.org',
    ssn: '078-05-1120',
    card: '5555 5555 5555 4444',
    phone: '+44 20 7946 0958',
  },
];
const LEAD = { email: 'carl.diaz@example.net' };
const NOTE_EMAIL = 'dana.rey@example.com';

/** Byte strings that must not appear anywhere in what the client receives. */
const FORBIDDEN: readonly string[] = [
  ...PEOPLE.flatMap((p) => [
    p.name,
    p.email,
    p.ssn,
    p.card,
    p.phone,
    digits(p.ssn),
    digits(p.card),
    digits(p.phone),
  ]),
  LEAD.email,
  NOTE_EMAIL,
];

function digits(text: string): string {
  return text.replace(/\D/g, '');
}

function leaks(received: Buffer): string[] {
  return FORBIDDEN.filter((value) => received.includes(Buffer.from(value, 'utf8')));
}

/** Statements run with node-postgres (simple query unless values are given). */
const SIMPLE_QUERIES: readonly string[] = [
  // aliases and stars
  'select * from customers',
  'select email as e, ssn as x, card_number as y, phone as z, full_name as n from customers',
  'select c.email, c.ssn from customers c',
  'select c.* from customers c',
  'select "email", "ssn" from public.customers',
  'select * from (select * from customers) s',
  'select e from (select email as e from customers) s',
  'select y from (select card_number from customers) x(y)',
  // expressions
  'select lower(email), upper(ssn) from customers',
  "select email || '', '' || ssn from customers",
  'select substring(ssn, 1, 11), substr(card_number, 1, 19) from customers',
  "select coalesce(email, 'x'), coalesce(null, ssn) from customers",
  'select case when true then ssn end, case when id > 0 then card_number else null end from customers',
  'select ssn::varchar, cast(card_number as text), phone::text from customers',
  "select replace(card_number, ' ', ''), translate(ssn, '-', ''), regexp_replace(phone, '\\D', '', 'g') from customers",
  "select concat(email), concat_ws(',', ssn, card_number), format('%s', full_name) from customers",
  "select split_part(email, '@', 1), left(ssn, 100), right(card_number, 100) from customers",
  "select greatest(email, ''), nullif(ssn, ''), ssn collate \"C\" from customers",
  'select distinct email, ssn from customers',
  'select array[email, ssn], array[card_number] from customers',
  'select unnest(array[email, ssn, card_number]) from customers',
  "select ssn::bytea, convert_to(card_number, 'UTF8') from customers",
  // aggregates and JSON
  "select array_agg(email), string_agg(ssn, ','), string_agg(card_number, '|' order by id) from customers",
  'select json_agg(c) from customers c',
  'select row_to_json(c) from customers c',
  'select to_jsonb(c.*) from customers c',
  'select to_json(c.email), to_json(c.ssn) from customers c',
  "select json_build_object('e', email, 's', ssn), jsonb_build_object('c', card_number) from customers",
  'select jsonb_agg(jsonb_build_array(phone, full_name)) from customers',
  'select row(c.*) from customers c',
  'select c from customers c',
  'select (c).email, (c).ssn from customers c',
  // subqueries, CTEs, set operations
  'select (select email from customers order by id limit 1)',
  'select (select ssn from customers where id = 1) as x, id from customers',
  'select array(select card_number from customers)',
  'with t as (select email, ssn from customers) select * from t',
  'with t(x) as (select card_number from customers) select x from t',
  'with recursive r as (select ssn, 1 as n from customers union all select ssn, n + 1 from r where n < 2) select ssn from r',
  "select email from customers union select 'x'",
  "select 'x' union all select ssn from customers",
  'select phone from customers intersect select phone from customers',
  'select full_name from customers except select null',
  'values ((select ssn from customers limit 1))',
  'select * from unnest((select array_agg(email) from customers))',
  'select email from customers, lateral (select 1) l',
  'select l.e from customers c, lateral (select c.email || c.ssn as e) l',
  // views (alias, expression, view over view)
  'select * from customers_v',
  'select contact, lname from contacts_v',
  'select * from contacts_vv',
  // functions that read data by themselves
  "select query_to_xml('select * from customers', true, false, '')",
  'select xmlelement(name e, email) from customers',
  // free text with personal data inside (content detection)
  'select notes from customers',
  "select notes || '' from customers",
  // errors that would quote values
  'select ssn::int from customers',
  'select card_number::numeric from customers',
  'select email::int from customers',
  "select to_date(ssn, 'YYYY') from customers",
  // inference through predicates (refused for strict classes)
  "select id from customers where ssn like '2%'",
  'select id from customers order by card_number',
  'select count(*) from customers group by ssn',
  'select id from customers c join customers d on c.card_number = d.card_number',
  "select count(*) filter (where ssn like '2%') from customers",
  // copying masked data into a column the role reads (refused unless masked as strictly)
  'insert into leads select 20, ssn from customers where id = 1',
  'insert into leads select 21, lower(email) from customers where id = 1',
  'select * from leads',
  // RETURNING
  `insert into leads values (10, '${LEAD.email}') returning *`,
  'update leads set id = id returning email, lower(email)',
  'delete from leads where id = 10 returning email',
];

/** Statements run with bound values and binary results (extended protocol). */
const BINARY_QUERIES: readonly string[] = [
  'select * from customers where id = $1',
  'select lower(email), ssn::varchar, to_jsonb(c.*), array_agg(card_number) over () from customers c where id = $1',
  "select row_to_json(c), json_build_object('p', phone) from customers c where id = $1",
];

function psql(sql: string, env: NodeJS.ProcessEnv): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn('psql', ['-X', '-c', sql], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => out.push(chunk));
    child.on('error', reject);
    child.on('close', () => resolve(Buffer.concat(out)));
  });
}

describe('masking bypass corpus: no clear PII in anything the client receives', () => {
  let db: RealPostgres;
  let gw: TestGateway;
  let token: IssuedToken;
  let client: pg.Client;
  const received: Buffer[] = [];

  beforeAll(async () => {
    db = await startRealPostgres();
    const direct = new pg.Client({ host: db.host, port: db.port, user: db.superuser, database: 'shop' });
    await direct.connect();
    await direct.query(`
      create table public.customers (id int primary key, full_name text, email text, ssn text,
                                     card_number text, phone text, notes text);
      create table public.leads (id int primary key, email text);
      create view public.customers_v as select id, email as mail, ssn as tax_id from public.customers;
      create view public.contacts_v as select id, lower(email) as contact, lower(full_name) as lname from public.customers;
      create view public.contacts_vv as select contact as c2, lname from public.contacts_v;
      grant select on all tables in schema public to public;
      grant insert, update, delete on public.leads to public;
    `);
    for (const p of PEOPLE) {
      await direct.query('insert into customers values ($1, $2, $3, $4, $5, $6, $7)', [
        p.id,
        p.name,
        p.email,
        p.ssn,
        p.card,
        p.phone,
        `call ${p.name.split(' ')[0]} or write to ${NOTE_EMAIL}`,
      ]);
    }
    await direct.end();
    gw = await startTestGateway(db, { policy: true, rolesYaml: ROLES_YAML, extraYaml: EXTRA_YAML });
    token = await gw.issue({ role: 'analyst' });
    client = new pg.Client(gw.pgConfig(token));
    await client.connect();
    const socket = (client as unknown as { connection: { stream: net.Socket } }).connection.stream;
    socket.on('data', (chunk: Buffer) => received.push(Buffer.from(chunk)));
  });

  afterAll(async () => {
    await client?.end();
    await gw?.close();
    await db?.stop();
  });

  it('has at least 60 queries', () => {
    expect(SIMPLE_QUERIES.length + BINARY_QUERIES.length + 6).toBeGreaterThanOrEqual(60);
  });

  it.each(SIMPLE_QUERIES)('%s', async (sql) => {
    received.length = 0;
    const outcome = await client.query(sql).then(
      (r) => `ok ${JSON.stringify(r.rows).slice(0, 150)}`,
      (e: Error) => `ERR ${e.message.slice(0, 150)}`,
    );
    if (process.env.CORPUS_DEBUG) console.log(`${sql}\n   -> ${outcome}`);
    const bytes = Buffer.concat(received);
    expect(bytes.length).toBeGreaterThan(0);
    expect(leaks(bytes)).toEqual([]);
  });

  it.each(BINARY_QUERIES)('binary results: %s', async (sql) => {
    received.length = 0;
    await client.query({ text: sql, values: [1], binary: true } as pg.QueryConfig).catch(() => {});
    expect(leaks(Buffer.concat(received))).toEqual([]);
  });

  it('postgres.js prepared statements, without Describe before Execute', async () => {
    const captured: Buffer[] = [];
    const sql = postgres(gw.url(token), {
      max: 1,
      prepare: true,
      fetch_types: false,
      onnotice: () => {},
    });
    try {
      for (let i = 0; i < 2; i++) {
        const rows = await sql`select email, ssn, lower(card_number) as c from customers where id = ${1}`;
        captured.push(Buffer.from(JSON.stringify([...rows])));
      }
    } finally {
      await sql.end();
    }
    expect(leaks(Buffer.concat(captured))).toEqual([]);
  });

  it.each([
    'copy customers to stdout',
    'copy (select email, ssn, lower(card_number) from customers) to stdout',
    'copy (select * from contacts_v) to stdout with csv',
    'copy customers to stdout with (format csv, header)',
    "copy customers to stdout with (format csv, delimiter '|', quote '''')",
    'copy customers to stdout with (format binary)',
  ])('psql: %s', async (sql) => {
    const output = await psql(sql, gw.env(token));
    expect(output.length).toBeGreaterThan(0);
    expect(leaks(output)).toEqual([]);
  });
});
