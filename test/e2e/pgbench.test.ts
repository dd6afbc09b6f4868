/**
 * pgbench through the gateway: initialisation (COPY, DDL, VACUUM), the TPC-B-like and select-only
 * workloads in simple, extended and prepared protocol modes, libpq pipeline mode, and a deterministic
 * script whose final table contents must match a direct run.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IssuedToken } from '../../src/identity/issue-token.js';
import { type RealPostgres, startRealPostgres } from '../helpers/real-postgres.js';
import { startTestGateway, type TestGateway } from '../helpers/test-gateway.js';

const execFileAsync = promisify(execFile);

type Mode = 'simple' | 'extended' | 'prepared';

describe('pgbench through the gateway', () => {
  let db: RealPostgres;
  let gw: TestGateway;
  let token: IssuedToken;
  let owner: pg.Client;
  let scratch: string;

  /** Runs pgbench with `env`; resolves its combined output, rejects with it on a non-zero exit. */
  async function pgbench(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
    try {
      const { stdout, stderr } = await execFileAsync('pgbench', args, { env, maxBuffer: 16 * 1024 * 1024 });
      return `${stdout}\n${stderr}`;
    } catch (error) {
      const { stdout, stderr } = error as { stdout?: string; stderr?: string };
      throw new Error(`pgbench ${args.join(' ')} failed:\n${stdout ?? ''}\n${stderr ?? ''}`);
    }
  }
  const viaGateway = (args: string[]) => pgbench(args, gw.env(token));
  const direct = (args: string[]) => pgbench(args, db.psqlEnv(db.users.scram.user, db.users.scram.password));

  function processed(output: string): { done: number; planned: number; failed: number } {
    const done = /number of transactions actually processed: (\d+)\/(\d+)/.exec(output);
    const failed = /number of failed transactions: (\d+)/.exec(output);
    return { done: Number(done?.[1]), planned: Number(done?.[2]), failed: Number(failed?.[1] ?? 0) };
  }

  async function one<T>(sql: string): Promise<T> {
    const result = await owner.query(sql);
    return result.rows[0] as T;
  }

  beforeAll(async () => {
    db = await startRealPostgres();
    gw = await startTestGateway(db);
    token = await gw.issue({ ttlMs: 30 * 60_000 });
    // The gateway's upstream role: what it creates through the gateway, it owns here.
    owner = new pg.Client(db.url(db.users.scram.user, db.users.scram.password));
    await owner.connect();
    scratch = await mkdtemp(path.join(os.tmpdir(), 'airlock-pgbench-'));
  });
  afterAll(async () => {
    await owner?.end();
    await gw?.close();
    await db?.stop();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('pgbench -i -s 1 initialises the tables through the gateway', async () => {
    const output = await viaGateway(['-i', '-s', '1', '-q']);
    expect(output).toMatch(/done in/);
    expect(
      await one(`select (select count(*) from pgbench_branches)::int as branches,
                             (select count(*) from pgbench_tellers)::int as tellers,
                             (select count(*) from pgbench_accounts)::int as accounts,
                             (select count(*) from pgbench_history)::int as history`),
    ).toEqual({
      branches: 1,
      tellers: 10,
      accounts: 100_000,
      history: 0,
    });
    // The primary keys pgbench adds at the end of initialisation exist.
    const keys = await owner.query<{ c: string }>(
      "select conrelid::regclass::text as c from pg_constraint where contype = 'p' and conrelid::regclass::text like 'pgbench_%' order by 1",
    );
    expect(keys.rows.map((r) => r.c)).toEqual(['pgbench_accounts', 'pgbench_branches', 'pgbench_tellers']);
  });

  it.each<Mode>(['simple', 'extended', 'prepared'])(
    'TPC-B-like workload, -M %s -t 200 -c 2',
    async (mode) => {
      const output = await viaGateway(['-n', '-M', mode, '-t', '200', '-c', '2']);
      expect(processed(output)).toEqual({ done: 400, planned: 400, failed: 0 });
      expect(output).toContain(`query mode: ${mode}`);
    },
  );

  it.each<Mode>(['simple', 'extended', 'prepared'])(
    'select-only workload, -S -M %s -t 200 -c 2',
    async (mode) => {
      const output = await viaGateway(['-n', '-S', '-M', mode, '-t', '200', '-c', '2']);
      expect(processed(output)).toEqual({ done: 400, planned: 400, failed: 0 });
    },
  );

  it('the balances the workloads moved add up, checked directly on the cluster', async () => {
    const totals = await one<Record<string, string>>(`
      select (select count(*) from pgbench_history)::text as history,
             (select count(*) from pgbench_accounts)::text as accounts,
             (select coalesce(sum(delta), 0) from pgbench_history)::text as delta,
             (select sum(abalance) from pgbench_accounts)::text as abalance,
             (select sum(tbalance) from pgbench_tellers)::text as tbalance,
             (select sum(bbalance) from pgbench_branches)::text as bbalance`);
    // Three TPC-B runs of 400 transactions, one history row each; select-only runs write nothing.
    expect(totals.history).toBe('1200');
    expect(totals.accounts).toBe('100000');
    expect(totals.abalance).toBe(totals.delta);
    expect(totals.tbalance).toBe(totals.delta);
    expect(totals.bbalance).toBe(totals.delta);
  });

  it('a pipelined script (\\startpipeline … \\endpipeline) runs through the gateway', async () => {
    await owner.query('create table pipe_log (client int not null, step int not null, note text)');
    const script = path.join(scratch, 'pipeline.sql');
    await writeFile(
      script,
      [
        '\\startpipeline',
        ...[1, 2, 3, 4, 5].map((step) => `insert into pipe_log values (:client_id, ${step}, 'p');`),
        'select count(*) from pipe_log where client = :client_id;',
        '\\endpipeline',
        '',
      ].join('\n'),
    );
    const output = await viaGateway(['-n', '-M', 'extended', '-f', script, '-t', '20', '-c', '2']);
    expect(processed(output)).toEqual({ done: 40, planned: 40, failed: 0 });
    const rows = await owner.query<{ client: number; step: number; n: number }>(
      'select client, step, count(*)::int as n from pipe_log group by 1, 2 order by 1, 2',
    );
    expect(rows.rows).toEqual(
      [0, 1].flatMap((client) => [1, 2, 3, 4, 5].map((step) => ({ client, step, n: 20 }))),
    );
  });

  it('a new connection per transaction (-C) works and leaves no session behind', async () => {
    const output = await viaGateway(['-n', '-C', '-S', '-M', 'extended', '-t', '25', '-c', '2']);
    expect(processed(output)).toEqual({ done: 50, planned: 50, failed: 0 });
    const deadline = Date.now() + 3_000;
    while (gw.gateway.sessions.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(gw.gateway.sessions.size).toBe(0);
    // A backend leaves pg_stat_activity a moment after its client's Terminate; wait for it, bounded.
    const upstreamBackends = async () =>
      (
        await owner.query<{ n: number }>(
          'select count(*)::int as n from pg_stat_activity where usename = current_user and pid <> pg_backend_pid()',
        )
      ).rows[0]?.n;
    await expect.poll(upstreamBackends, { timeout: 3_000, interval: 50 }).toBe(0);
  });

  it('a deterministic script leaves the same table contents through the gateway as run directly', async () => {
    const runs = ['gw_simple', 'gw_extended', 'gw_prepared', 'direct'] as const;
    for (const name of runs) {
      await owner.query(`create table det_${name} (id int primary key, v bigint not null, n int not null)`);
      await owner.query(`insert into det_${name} select g, g * 7, 0 from generate_series(1, 20) g`);
      await owner.query(
        `create table det_${name}_log (step serial primary key, id int not null, v bigint not null)`,
      );
      // Each transaction picks its row from what earlier ones logged, so order and count both matter.
      await writeFile(
        path.join(scratch, `${name}.sql`),
        [
          '\\set k 37',
          'BEGIN;',
          `UPDATE det_${name} SET v = (v * 31 + :k + n) % 1000003, n = n + 1`,
          `  WHERE id = (SELECT count(*) % 20 + 1 FROM det_${name}_log);`,
          `INSERT INTO det_${name}_log (id, v) SELECT id, v FROM det_${name}`,
          `  WHERE id = (SELECT count(*) % 20 + 1 FROM det_${name}_log);`,
          'END;',
          '',
        ].join('\n'),
      );
    }
    for (const mode of ['simple', 'extended', 'prepared'] as const) {
      const output = await viaGateway([
        '-n',
        '-M',
        mode,
        '-f',
        path.join(scratch, `gw_${mode}.sql`),
        '-t',
        '50',
        '-c',
        '1',
      ]);
      expect(processed(output)).toEqual({ done: 50, planned: 50, failed: 0 });
    }
    const output = await direct([
      '-n',
      '-M',
      'prepared',
      '-f',
      path.join(scratch, 'direct.sql'),
      '-t',
      '50',
      '-c',
      '1',
    ]);
    expect(processed(output)).toEqual({ done: 50, planned: 50, failed: 0 });

    // What the script computes, worked out here.
    const v = Array.from({ length: 21 }, (_, id) => id * 7);
    const n = new Array<number>(21).fill(0);
    const log: string[] = [];
    for (let step = 1; step <= 50; step++) {
      const id = ((step - 1) % 20) + 1;
      v[id] = (v[id]! * 31 + 37 + n[id]!) % 1000003;
      n[id] = n[id]! + 1;
      log.push(`${step}:${id}:${v[id]}`);
    }
    const expected = {
      rows: Array.from({ length: 20 }, (_, i) => `${i + 1}:${v[i + 1]}:${n[i + 1]}`).join(','),
      log: log.join(','),
    };
    for (const name of runs) {
      const contents = await one<{ rows: string; log: string }>(`
        select (select string_agg(id || ':' || v || ':' || n, ',' order by id) from det_${name}) as rows,
               (select string_agg(step || ':' || id || ':' || v, ',' order by step) from det_${name}_log) as log`);
      expect({ name, ...contents }).toEqual({ name, ...expected });
    }
  });
});
