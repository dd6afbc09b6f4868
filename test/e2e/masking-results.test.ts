/**
 * Result masking through real sessions against a real PostgreSQL: column rules by the server's column
 * origin (aliases, SELECT *), every client path (simple query, extended with and without Describe,
 * binary results), content detection in free text, COPY TO STDOUT, and error text.
 */
import { spawn } from 'node:child_process';
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
  '      - tables: [public.customers]',
  '        operations: [select]',
  '    mask:',
  '      - columns: [public.customers.email]',
  '        strategy: partial',
  '      - columns: [public.customers.ssn, public.customers.card_number]',
  '        strategy: redact',
  '      - columns: [public.customers.phone]',
  '        strategy: "null"',
  '      - classes: [email, phone, ssn, credit_card]',
  '        strategy: redact',
  '  open:',
  '    upstream: shop',
  '    allow:',
  '      - tables: [public.customers]',
  '        operations: [select]',
].join('\n');

/** The seeded values that must never reach the analyst in clear. */
const PII = {
  email: 'ann.lee@example.com',
  ssn: '219-09-9999',
  card: '4111 1111 1111 1111',
  phone: '+1 415 555 0132',
  noteEmail: 'bob.fox@example.org',
};

function expectNoPii(received: unknown): void {
  const text = typeof received === 'string' ? received : JSON.stringify(received);
  for (const value of Object.values(PII)) expect(text).not.toContain(value);
}

function psql(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('psql', ['-X', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('result masking', () => {
  let db: RealPostgres;
  let gw: TestGateway;
  let token: IssuedToken;

  beforeAll(async () => {
    db = await startRealPostgres();
    const direct = new pg.Client({ host: db.host, port: db.port, user: db.superuser, database: 'shop' });
    await direct.connect();
    await direct.query(`
      create table public.customers (id int primary key, name text, email text, ssn text, card_number text,
                                     phone text, notes text, visits int);
      insert into public.customers values
        (1, 'Ann Lee', '${PII.email}', '${PII.ssn}', '${PII.card}', '${PII.phone}',
         'prefers contact via ${PII.noteEmail}', 7);
      grant select on public.customers to public;
    `);
    await direct.end();
    gw = await startTestGateway(db, { policy: true, rolesYaml: ROLES_YAML });
    token = await gw.issue({ role: 'analyst' });
  });

  afterAll(async () => {
    await gw?.close();
    await db?.stop();
  });

  it('masks SELECT * by column rule and leaves other columns untouched (simple query)', async () => {
    const client = new pg.Client(gw.pgConfig(token));
    await client.connect();
    try {
      const { rows } = await client.query('select * from customers');
      expect(rows).toEqual([
        {
          id: 1,
          name: 'Ann Lee',
          email: '****@example.com',
          ssn: '[redacted]',
          card_number: '[redacted]',
          phone: null,
          notes: expect.stringContaining('prefers contact via'),
          visits: 7,
        },
      ]);
      expectNoPii(rows);
    } finally {
      await client.end();
    }
  });

  it('an alias does not escape the rule: the origin comes from the server', async () => {
    const client = new pg.Client(gw.pgConfig(token));
    await client.connect();
    try {
      const { rows } = await client.query('select email as e, ssn as "not_pii", id from customers c');
      expect(rows).toEqual([{ e: '****@example.com', not_pii: '[redacted]', id: 1 }]);
    } finally {
      await client.end();
    }
  });

  it('masks extended-protocol results, in text and in binary format', async () => {
    const client = new pg.Client(gw.pgConfig(token));
    await client.connect();
    try {
      const text = await client.query('select ssn, email, visits from customers where id = $1', [1]);
      expect(text.rows).toEqual([{ ssn: '[redacted]', email: '****@example.com', visits: 7 }]);
      const binary = await client.query({
        text: 'select ssn, email, visits, phone from customers where id = $1',
        values: [1],
        binary: true,
      } as pg.QueryConfig);
      expect(binary.rows[0].ssn.toString()).toBe('[redacted]');
      expect(binary.rows[0].email.toString()).toBe('****@example.com');
      expect(binary.rows[0].phone).toBeNull();
      expect(binary.rows[0].visits).toBe(7);
    } finally {
      await client.end();
    }
  });

  it('masks a prepared statement executed without Describe (postgres.js), repeatedly', async () => {
    const sql = postgres(gw.url(token), { max: 1, prepare: true, fetch_types: false, onnotice: () => {} });
    try {
      for (let i = 0; i < 3; i++) {
        const rows = await sql`select id, ssn, email from customers where id = ${1}`;
        expect([...rows]).toEqual([{ id: 1, ssn: '[redacted]', email: '****@example.com' }]);
      }
    } finally {
      await sql.end();
    }
  });

  it('finds personal data inside free text with the content detectors', async () => {
    const client = new pg.Client(gw.pgConfig(token));
    await client.connect();
    try {
      const { rows } = await client.query('select notes from customers');
      expect(rows[0].notes).toBe('prefers contact via [redacted]');
    } finally {
      await client.end();
    }
  });

  it('masks COPY … TO STDOUT', async () => {
    const out = await psql(['-c', 'copy customers to stdout'], gw.env(token));
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expectNoPii(out.stdout);
    expect(out.stdout.split('\t')).toHaveLength(8);
  });

  it('scrubs values quoted in error messages', async () => {
    const client = new pg.Client(gw.pgConfig(token));
    await client.connect();
    try {
      const error = await client.query('select ssn::int from customers').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Error);
      expectNoPii((error as Error).message);
      expect((error as Error).message).toContain('invalid input syntax for type integer');
    } finally {
      await client.end();
    }
  });

  it('leaves a role without mask rules untouched', async () => {
    const open = await gw.issue({ role: 'open' });
    const client = new pg.Client(gw.pgConfig(open));
    await client.connect();
    try {
      const { rows } = await client.query('select email, ssn from customers');
      expect(rows).toEqual([{ email: PII.email, ssn: PII.ssn }]);
    } finally {
      await client.end();
    }
  });
});
