/** The common clients work through the gateway unchanged: psql, node-postgres, postgres.js. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RealPostgres, startRealPostgres } from '../helpers/real-postgres.js';
import { startTestGateway, type TestGateway } from '../helpers/test-gateway.js';

const run = promisify(execFile);

describe('standard clients through the gateway', () => {
  let db: RealPostgres;
  let gw: TestGateway;

  beforeAll(async () => {
    db = await startRealPostgres();
    gw = await startTestGateway(db);
  });
  afterAll(async () => {
    await gw?.close();
    await db?.stop();
  });

  it('psql runs simple queries and reports the upstream result', async () => {
    const token = await gw.issue();
    const { stdout } = await run('psql', ['-X', '-At', '-c', 'select 40 + 2', '-c', "select 'ünïcode'"], {
      env: gw.env(token),
    });
    expect(stdout).toBe('42\nünïcode\n');
  });

  it('node-postgres runs simple, parameterised and named prepared queries', async () => {
    const token = await gw.issue();
    const client = new pg.Client(gw.pgConfig(token));
    await client.connect();
    try {
      expect((await client.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
      expect((await client.query('select $1::int + $2::int as sum', [2, 3])).rows).toEqual([{ sum: 5 }]);
      for (let i = 0; i < 3; i++) {
        const res = await client.query({ name: 'double', text: 'select $1::int * 2 as d', values: [i] });
        expect(res.rows).toEqual([{ d: i * 2 }]);
      }
      await expect(client.query('select * from no_such_table')).rejects.toThrow(/does not exist/);
      expect((await client.query('select 2 as two')).rows).toEqual([{ two: 2 }]);
    } finally {
      await client.end();
    }
  });

  it('postgres.js pipelines extended-protocol queries', async () => {
    const token = await gw.issue();
    const sql = postgres(gw.url(token), { max: 1, onnotice: () => {} });
    try {
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => sql`select ${i}::int as i`));
      expect(results.map((r) => r[0]?.i)).toEqual(Array.from({ length: 20 }, (_, i) => i));
      const rows = await sql`select generate_series(1, 1000) as n`;
      expect(rows.length).toBe(1000);
      await sql.begin(async (tx) => {
        await tx`create temp table t (x int)`;
        await tx`insert into t values (1), (2)`;
        expect((await tx`select sum(x)::int as s from t`)[0]?.s).toBe(3);
      });
    } finally {
      await sql.end();
    }
  });
});
