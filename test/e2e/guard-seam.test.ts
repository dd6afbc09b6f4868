/**
 * The guard seam: a refused batch never reaches the upstream, the agent gets 42501 in the right place
 * in its response stream, transactions abort as the server would abort them, and the session goes on.
 */
import pg from 'pg';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Guard, GuardBatch } from '../../src/proxy/guard.js';
import { type RealPostgres, startRealPostgres } from '../helpers/real-postgres.js';
import { guardFromBatchCheck, startTestGateway, type TestGateway } from '../helpers/test-gateway.js';

/** Refuses any statement mentioning `forbidden`; optionally answers asynchronously. */
function forbiddenWordGuard(seen: GuardBatch[], delayMs?: number): Guard {
  return guardFromBatchCheck((batch) => {
    seen.push(batch);
    const denied = batch.statements.some((s) => s.sql.includes('forbidden'));
    const verdict = denied
      ? ({ action: 'deny', message: 'test guard refused "forbidden"', hint: 'leave it out' } as const)
      : ({ action: 'allow' } as const);
    return delayMs === undefined ? verdict : new Promise((r) => setTimeout(() => r(verdict), delayMs));
  });
}

describe.each([
  ['synchronous', undefined],
  ['asynchronous', 20],
])('guard seam (%s guard)', (_name, delayMs) => {
  let db: RealPostgres;
  let gw: TestGateway;
  const seen: GuardBatch[] = [];
  let direct: pg.Client;

  beforeAll(async () => {
    db = await startRealPostgres();
    gw = await startTestGateway(db, { guard: forbiddenWordGuard(seen, delayMs) });
    direct = new pg.Client({ host: db.host, port: db.port, user: 'postgres', database: 'shop' });
    await direct.connect();
    await direct.query('create table forbidden_log (x int); grant all on forbidden_log to public');
    await direct.query('create table ledger (x int); grant all on ledger to public');
  });
  afterAll(async () => {
    await direct?.end();
    await gw?.close();
    await db?.stop();
  });

  it('refuses a simple query with 42501 and the guard message, and the session goes on', async () => {
    const client = new pg.Client(gw.pgConfig(await gw.issue()));
    await client.connect();
    try {
      const error = await client
        .query('insert into forbidden_log values (1)')
        .catch((e: pg.DatabaseError) => e);
      expect(error).toMatchObject({
        code: '42501',
        message: 'test guard refused "forbidden"',
        hint: 'leave it out',
      });
      expect((await client.query('select 1 as ok')).rows).toEqual([{ ok: 1 }]);
      expect((await direct.query('select count(*)::int as n from forbidden_log')).rows[0].n).toBe(0);
    } finally {
      await client.end();
    }
  });

  it('shows the guard the SQL behind Parse and behind Execute of a named statement', async () => {
    const client = new pg.Client(gw.pgConfig(await gw.issue()));
    await client.connect();
    try {
      seen.length = 0;
      await client.query({ name: 'q1', text: 'select $1::int as v', values: [1] });
      await client.query({ name: 'q1', text: 'select $1::int as v', values: [2] });
      const vias = seen.flatMap((b) => b.statements.map((s) => `${s.via}:${s.sql}`));
      expect(vias).toEqual([
        'parse:select $1::int as v',
        'execute:select $1::int as v',
        'execute:select $1::int as v',
      ]);
    } finally {
      await client.end();
    }
  });

  it('answers pipelined batches in order with the refusal in the right place', async () => {
    const sql = postgres(gw.url(await gw.issue()), { max: 1, onnotice: () => {} });
    try {
      const results = await Promise.allSettled([
        sql`select 1 as a`,
        sql`select ${'x'}::text as forbidden`,
        sql`select 3 as c`,
        sql`select pg_sleep(0.05), 4 as d`,
        sql`select 'forbidden' as e`.simple(),
        sql`select 6 as f`,
      ]);
      expect(results.map((r) => r.status)).toEqual([
        'fulfilled',
        'rejected',
        'fulfilled',
        'fulfilled',
        'rejected',
        'fulfilled',
      ]);
      const values = results.map((r) =>
        r.status === 'fulfilled'
          ? Object.values(r.value[0] ?? {}).at(-1)
          : (r.reason as { code: string }).code,
      );
      expect(values).toEqual([1, '42501', 3, 4, '42501', 6]);
    } finally {
      await sql.end();
    }
  });

  it('aborts the transaction like the server would, so COMMIT cannot keep earlier work', async () => {
    const client = new pg.Client(gw.pgConfig(await gw.issue()));
    await client.connect();
    try {
      await client.query('begin');
      await client.query('insert into ledger values (1)');
      await expect(client.query('insert into forbidden_log values (1)')).rejects.toMatchObject({
        code: '42501',
      });
      await expect(client.query('insert into ledger values (2)')).rejects.toMatchObject({ code: '25P02' });
      const commit = await client.query('commit');
      expect(commit.command).toBe('ROLLBACK');
      expect((await direct.query('select count(*)::int as n from ledger')).rows[0].n).toBe(0);
      // Extended protocol inside a transaction too.
      await client.query('begin');
      await expect(client.query('select $1::text as forbidden', ['x'])).rejects.toMatchObject({
        code: '42501',
      });
      expect((await client.query('rollback')).command).toBe('ROLLBACK');
      expect((await client.query('select 7 as after')).rows).toEqual([{ after: 7 }]);
    } finally {
      await client.end();
    }
  });
});

describe('a guard that fails', () => {
  let db: RealPostgres;
  let gw: TestGateway;

  beforeAll(async () => {
    db = await startRealPostgres();
    gw = await startTestGateway(db, {
      guard: guardFromBatchCheck((batch) => {
        if (batch.statements.some((s) => s.sql.includes('explode')))
          throw new Error('guard bug for the test');
        return { action: 'allow' };
      }),
    });
  });
  afterAll(async () => {
    await gw?.close();
    await db?.stop();
  });

  it('ends only that session, with FATAL XX000 naming the session id, and logs the cause', async () => {
    const victim = new pg.Client(gw.pgConfig(await gw.issue()));
    const bystander = new pg.Client(gw.pgConfig(await gw.issue()));
    await victim.connect();
    await bystander.connect();
    victim.on('error', () => {});
    try {
      const error = (await victim.query("select 'explode'").catch((e: unknown) => e)) as pg.DatabaseError;
      expect(error.code).toBe('XX000');
      expect(error.message).toMatch(/^internal gateway error \(session s_[0-9a-f]{12}\)$/);
      expect((await bystander.query('select 1 as still')).rows).toEqual([{ still: 1 }]);
      expect(gw.logs.some((line) => line.includes('guard bug for the test'))).toBe(true);
    } finally {
      await victim.end().catch(() => {});
      await bystander.end();
    }
  });
});
