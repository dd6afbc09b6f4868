/**
 * The extended query protocol through the gateway: named and unnamed statements and portals, Describe,
 * Close, row-limited Execute, pipelined batches, errors inside batches, binary parameters and
 * savepoints, with node-postgres, postgres.js and hand-written protocol messages.
 */
import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GuardBatch } from '../../src/proxy/guard.js';
import { dataRow, fe, RawSession, summarise } from '../helpers/raw-wire-session.js';
import { type RealPostgres, startRealPostgres } from '../helpers/real-postgres.js';
import { guardFromBatchCheck, startTestGateway, type TestGateway } from '../helpers/test-gateway.js';

const md5 = (data: Buffer | string): string => createHash('md5').update(data).digest('hex');

describe('extended query protocol through the gateway', () => {
  let db: RealPostgres;
  let gw: TestGateway;
  let direct: pg.Client;

  beforeAll(async () => {
    db = await startRealPostgres();
    gw = await startTestGateway(db);
    // The gateway's own upstream role, so tables made here belong to the role agents act as.
    direct = new pg.Client(db.url(db.users.scram.user, db.users.scram.password));
    await direct.connect();
  });
  afterAll(async () => {
    await direct?.end();
    await gw?.close();
    await db?.stop();
  });

  it('node-postgres: unnamed and named statements, array rows and field metadata from Describe', async () => {
    const client = new pg.Client(gw.pgConfig(await gw.issue()));
    await client.connect();
    try {
      const unnamed = await client.query({
        text: 'select $1::int * 2 as doubled, $2::text as label, null::date as nothing',
        values: [21, 'ok'],
        rowMode: 'array',
      });
      expect(unnamed.rows).toEqual([[42, 'ok', null]]);
      expect(unnamed.fields.map((f) => [f.name, f.dataTypeID])).toEqual([
        ['doubled', 23],
        ['label', 25],
        ['nothing', 1082],
      ]);
      // The named statement is parsed once and bound again on every later call.
      for (const n of [1, 2, 3]) {
        const named = await client.query({
          name: 'series',
          text: 'select g, g * $1::int as scaled from generate_series(1, $2::int) g',
          values: [10, n],
          rowMode: 'array',
        });
        expect(named.rows).toEqual(Array.from({ length: n }, (_, i) => [i + 1, (i + 1) * 10]));
      }
      const prepared = await client.query<{ name: string }>(
        "select name from pg_prepared_statements where name = 'series'",
      );
      expect(prepared.rows).toEqual([{ name: 'series' }]);
    } finally {
      await client.end();
    }
  });

  it('postgres.js: describe() reports parameter and column types without running the statement', async () => {
    await direct.query('create table described (id int primary key, note text)');
    const sql = postgres(gw.url(await gw.issue()), { max: 1, onnotice: () => {} });
    try {
      const statement =
        await sql`insert into described values (${1}, ${'x'}) returning id, note, now() as at`.describe();
      expect(statement.types).toEqual([23, 25]);
      expect(statement.columns.map((c) => [c.name, c.type])).toEqual([
        ['id', 23],
        ['note', 25],
        ['at', 1184],
      ]);
      expect((await direct.query('select count(*)::int as n from described')).rows).toEqual([{ n: 0 }]);
      // The statement it described is then usable for real.
      const [row] = await sql`insert into described values (${7}, ${'seven'}) returning id, note`;
      expect(row).toEqual({ id: 7, note: 'seven' });
    } finally {
      await sql.end();
    }
  });

  it('named statements and portals, Describe of each, Close of each', async () => {
    const raw = await RawSession.open(gw.pgConfig(await gw.issue()));
    try {
      raw.send(
        fe.parse('s1', 'select $1::int + 1 as n, $2::text as t'),
        fe.describe('S', 's1'),
        fe.bind('p1', 's1', ['41', 'forty-two']),
        fe.describe('P', 'p1'),
        fe.execute('p1'),
        fe.bind('', 's1', ['1', null]),
        fe.execute(''),
        fe.close('P', 'p1'),
        fe.sync(),
      );
      expect(await raw.untilReady()).toEqual([
        '1',
        't(23,25)',
        'T(n:23,t:25)',
        '2',
        'T(n:23,t:25)',
        'D(42,forty-two)',
        'C(SELECT 1)',
        '2',
        'D(2,NULL)',
        'C(SELECT 1)',
        '3',
        'Z(I)',
      ]);
      // The statement outlives the batch; Describe of a statement without result columns says NoData.
      raw.send(fe.bind('', 's1', ['9', 'x']), fe.execute(''), fe.parse('s2', 'set search_path = public'));
      raw.send(fe.describe('S', 's2'), fe.close('S', 's1'), fe.close('S', 'never-existed'), fe.sync());
      expect(await raw.untilReady()).toEqual([
        '2',
        'D(10,x)',
        'C(SELECT 1)',
        '1',
        't()',
        'n',
        '3',
        '3',
        'Z(I)',
      ]);
      // After Close the statement is gone upstream: binding it fails, and the session carries on.
      raw.send(fe.bind('', 's1', ['1', 'y']), fe.execute(''), fe.sync());
      expect(await raw.untilReady()).toEqual(['E(26000)', 'Z(I)']);
      raw.send(fe.bind('', 's2'), fe.execute(''), fe.sync());
      expect(await raw.untilReady()).toEqual(['2', 'C(SET)', 'Z(I)']);
    } finally {
      await raw.close();
    }
  });

  it('Execute with a row limit suspends the portal and resumes it, with Flush between steps', async () => {
    const raw = await RawSession.open(gw.pgConfig(await gw.issue()));
    try {
      raw.send(fe.query('begin'));
      expect(await raw.untilReady()).toEqual(['C(BEGIN)', 'Z(T)']);
      raw.send(
        fe.parse('', 'select g from generate_series(1, 8) g'),
        fe.bind('cur', ''),
        fe.execute('cur', 3),
      );
      raw.send(fe.flush());
      expect((await raw.read((m) => m.type === 's')).map(summarise)).toEqual([
        '1',
        '2',
        'D(1)',
        'D(2)',
        'D(3)',
        's',
      ]);
      raw.send(fe.execute('cur', 3), fe.flush());
      expect((await raw.read((m) => m.type === 's')).map(summarise)).toEqual(['D(4)', 'D(5)', 'D(6)', 's']);
      raw.send(fe.execute('cur', 3), fe.execute('cur', 3), fe.sync());
      expect(await raw.untilReady()).toEqual(['D(7)', 'D(8)', 'C(SELECT 2)', 'C(SELECT 0)', 'Z(T)']);
      raw.send(fe.query('commit'));
      expect(await raw.untilReady()).toEqual(['C(COMMIT)', 'Z(I)']);
    } finally {
      await raw.close();
    }
  });

  it('postgres.js cursor(10) fetches in row-limited steps and can stop early', async () => {
    const sql = postgres(gw.url(await gw.issue()), { max: 1, onnotice: () => {} });
    try {
      const sizes: number[] = [];
      const seen: number[] = [];
      for await (const rows of sql<{ g: number }[]>`select g from generate_series(1, ${95}::int) g`.cursor(
        10,
      )) {
        sizes.push(rows.length);
        for (const row of rows) seen.push(row.g);
      }
      expect(sizes).toEqual([10, 10, 10, 10, 10, 10, 10, 10, 10, 5]);
      expect(seen).toEqual(Array.from({ length: 95 }, (_, i) => i + 1));
      // Breaking out closes the portal (Close + Sync); the session goes on.
      let batches = 0;
      for await (const rows of sql`select g from generate_series(1, 1000) g`.cursor(10)) {
        expect(rows).toHaveLength(10);
        if (++batches === 3) break;
      }
      expect(batches).toBe(3);
      expect(await sql`select 'after cursor' as s`).toEqual([{ s: 'after cursor' }]);
    } finally {
      await sql.end();
    }
  });

  it('postgres.js pipelines hundreds of queries on one connection and gets each its own answer', async () => {
    const sql = postgres(gw.url(await gw.issue()), { max: 1, onnotice: () => {} });
    try {
      const queries = Array.from({ length: 300 }, (_, i) =>
        i % 3 === 0
          ? sql`select ${i}::int as i, repeat('x', ${i}::int) as pad`
          : i % 3 === 1
            ? sql`select ${i}::int as i, ${`v${i}`}::text as pad`
            : sql.unsafe(`select ${i}::int as i, md5('${i}') as pad`).simple(),
      );
      const results = await Promise.all(queries);
      results.forEach((rows, i) => {
        const pad = i % 3 === 0 ? 'x'.repeat(i) : i % 3 === 1 ? `v${i}` : md5(String(i));
        expect(rows).toEqual([{ i, pad }]);
      });
      const [pids] =
        await sql`select count(distinct pid)::int as n from pg_stat_activity where usename = current_user`;
      expect(pids?.n).toBeGreaterThanOrEqual(1);
    } finally {
      await sql.end();
    }
  });

  it('many batches written at once, in byte-sized slices, are answered in order', async () => {
    const raw = await RawSession.open(gw.pgConfig(await gw.issue()));
    try {
      const batches = Array.from({ length: 40 }, (_, i) =>
        Buffer.concat([
          fe.parse('', 'select $1::int * 3 as v'),
          fe.bind('', '', [String(i)]),
          fe.execute(''),
          fe.sync(),
        ]),
      );
      raw.send(...batches);
      const whole = await raw.untilReady(40);
      expect(whole).toEqual(
        Array.from({ length: 40 }, (_, i) => ['1', '2', `D(${i * 3})`, 'C(SELECT 1)', 'Z(I)']).flat(),
      );
      await raw.sendInSlices(Buffer.concat([...batches, fe.query('select 1; select 2')]));
      const sliced = await raw.untilReady(41);
      expect(sliced.slice(0, 200)).toEqual(whole);
      expect(sliced.slice(200)).toEqual([
        'T(?column?:23)',
        'D(1)',
        'C(SELECT 1)',
        'T(?column?:23)',
        'D(2)',
        'C(SELECT 1)',
        'Z(I)',
      ]);
    } finally {
      await raw.close();
    }
  });

  it('an error inside a batch skips the rest of that batch only; later pipelined batches run', async () => {
    const raw = await RawSession.open(gw.pgConfig(await gw.issue()));
    try {
      raw.send(
        fe.parse('', 'select 1 / $1::int as q'),
        fe.bind('', '', ['0']),
        fe.execute(''),
        fe.parse('skipped', 'select 2'),
        fe.bind('', 'skipped'),
        fe.execute(''),
        fe.sync(),
        fe.parse('', 'select $1::text as after'),
        fe.bind('', '', ['second batch']),
        fe.execute(''),
        fe.sync(),
        fe.parse('', 'select from no_such_table'),
        fe.sync(),
        fe.parse('kept', 'select 3 as three'),
        fe.bind('', 'kept'),
        fe.execute(''),
        fe.sync(),
      );
      // The division by zero surfaces at Bind already (planning folds the constant).
      expect(await raw.untilReady(4)).toEqual([
        '1',
        'E(22012)',
        'Z(I)',
        '1',
        '2',
        'D(second batch)',
        'C(SELECT 1)',
        'Z(I)',
        'E(42P01)',
        'Z(I)',
        '1',
        '2',
        'D(3)',
        'C(SELECT 1)',
        'Z(I)',
      ]);
      // The statement in the failed batch was never created.
      raw.send(fe.bind('', 'skipped'), fe.execute(''), fe.sync());
      expect(await raw.untilReady()).toEqual(['E(26000)', 'Z(I)']);
    } finally {
      await raw.close();
    }
  });

  it('node-postgres and postgres.js sessions stay usable after failing statements, in and out of transactions', async () => {
    const client = new pg.Client(gw.pgConfig(await gw.issue()));
    await client.connect();
    const sql = postgres(gw.url(await gw.issue()), { max: 1, onnotice: () => {} });
    try {
      await expect(client.query('select $1::int / 0', [1])).rejects.toMatchObject({ code: '22012' });
      expect((await client.query('select $1::int as ok', [5])).rows).toEqual([{ ok: 5 }]);
      await client.query('begin');
      await expect(client.query('select $1::int', ['not a number'])).rejects.toMatchObject({ code: '22P02' });
      await expect(client.query('select 1')).rejects.toMatchObject({ code: '25P02' });
      await client.query('rollback');
      expect((await client.query({ text: 'select $1::text as t', values: ['clean'] })).rows).toEqual([
        { t: 'clean' },
      ]);

      const settled = await Promise.allSettled([
        sql`select ${1}::int as n`,
        sql`select 1 / ${0}::int as n`,
        sql`select ${3}::int as n`,
        sql`select * from missing_table_x`,
        sql`select ${5}::int as n`,
      ]);
      expect(
        settled.map((s) => (s.status === 'fulfilled' ? s.value[0]?.n : (s.reason as { code: string }).code)),
      ).toEqual([1, '22012', 3, '42P01', 5]);
    } finally {
      await client.end();
      await sql.end();
    }
  });

  it('binary parameters and results: every byte value, and a 5 MiB bytea, round trip exactly', async () => {
    await direct.query('create table blobs (id int primary key, data bytea)');
    const allBytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const big = randomBytes(5 * 1024 * 1024);

    const raw = await RawSession.open(gw.pgConfig(await gw.issue()));
    try {
      // Parameter in binary (format 1, with bytea's OID), result in binary too.
      raw.send(
        fe.parse('', 'select $1 as data, length($1) as n', [17]),
        fe.bind('', '', [allBytes], [1], [1, 0]),
        fe.execute(''),
        fe.sync(),
      );
      const messages = await raw.read((m) => m.type === 'Z');
      const row = messages.find((m) => m.type === 'D');
      expect(row).toBeDefined();
      const [data, n] = dataRow(row!.body);
      expect(data?.equals(allBytes)).toBe(true);
      expect(n?.toString()).toBe('256');
    } finally {
      await raw.close();
    }

    // node-postgres sends Buffers as binary parameters.
    const client = new pg.Client(gw.pgConfig(await gw.issue()));
    await client.connect();
    try {
      await client.query('insert into blobs values (1, $1), (2, $2)', [allBytes, big]);
      const back = await client.query<{ id: number; data: Buffer; digest: string }>(
        'select id, data, md5(data) as digest from blobs order by id',
      );
      expect(back.rows[0]?.data.equals(allBytes)).toBe(true);
      expect(back.rows[1]?.data.length).toBe(big.length);
      expect(back.rows[1]?.data.equals(big)).toBe(true);
      expect(back.rows[1]?.digest).toBe(md5(big));
    } finally {
      await client.end();
    }

    // postgres.js sends bytea as hex text; the stored bytes are the same either way.
    const sql = postgres(gw.url(await gw.issue()), { max: 1, onnotice: () => {} });
    try {
      await sql`insert into blobs values (3, ${big})`;
      const [row] = await sql<{ data: Buffer }[]>`select data from blobs where id = 3`;
      expect(row?.data.equals(big)).toBe(true);
    } finally {
      await sql.end();
    }
    const stored = await direct.query<{ id: number; digest: string }>(
      'select id, md5(data) as digest from blobs order by id',
    );
    expect(stored.rows).toEqual([
      { id: 1, digest: md5(allBytes) },
      { id: 2, digest: md5(big) },
      { id: 3, digest: md5(big) },
    ]);
  });

  it('a transaction with a savepoint rolled back keeps only the work outside it', async () => {
    await direct.query('create table ledger (id int primary key, note text)');
    const client = new pg.Client(gw.pgConfig(await gw.issue()));
    await client.connect();
    try {
      await client.query('begin');
      await client.query('insert into ledger values ($1, $2)', [1, 'kept']);
      await client.query('savepoint before_dup');
      await client.query('insert into ledger values ($1, $2)', [2, 'rolled back']);
      await expect(
        client.query('insert into ledger values ($1, $2)', [1, 'duplicate']),
      ).rejects.toMatchObject({
        code: '23505',
      });
      await client.query('rollback to savepoint before_dup');
      await client.query('insert into ledger values ($1, $2)', [3, 'after savepoint']);
      await client.query('commit');
    } finally {
      await client.end();
    }

    const sql = postgres(gw.url(await gw.issue()), { max: 1, onnotice: () => {} });
    try {
      await sql.begin(async (tx) => {
        await tx`insert into ledger values (${4}, ${'outer'})`;
        await tx
          .savepoint(async (sp) => {
            await sp`insert into ledger values (${5}, ${'inner'})`;
            await sp`select 1 / ${0}::int`;
          })
          .catch((error: { code?: string }) => expect(error.code).toBe('22012'));
        await tx`insert into ledger values (${6}, ${'outer again'})`;
      });
    } finally {
      await sql.end();
    }
    const rows = await direct.query('select id, note from ledger order by id');
    expect(rows.rows).toEqual([
      { id: 1, note: 'kept' },
      { id: 3, note: 'after savepoint' },
      { id: 4, note: 'outer' },
      { id: 6, note: 'outer again' },
    ]);
  });

  it('a mixed pipeline gets the same message sequence through the gateway as directly', async () => {
    const pipeline = [
      fe.query("DO $$ BEGIN RAISE NOTICE 'n1'; END $$; select 1 as a"),
      fe.query(''),
      fe.parse('ps', 'select $1::int as x, $2::text as y'),
      fe.describe('S', 'ps'),
      fe.bind('pp', 'ps', ['5', 'five']),
      fe.describe('P', 'pp'),
      fe.execute('pp', 1),
      fe.execute('pp', 0),
      fe.close('P', 'pp'),
      fe.sync(),
      fe.parse('', 'copy (select g from generate_series(1, 3) g) to stdout'),
      fe.bind('', ''),
      fe.execute(''),
      fe.sync(),
      fe.parse('', 'select no_such_function()'),
      fe.bind('', ''),
      fe.execute(''),
      fe.sync(),
      fe.query('begin; select 1/0; select 2'),
      fe.query('select 1'),
      fe.query('rollback'),
      fe.close('S', 'ps'),
      fe.sync(),
    ];
    const traces: string[][] = [];
    for (const config of [
      gw.pgConfig(await gw.issue()),
      { host: db.host, port: db.port, user: db.superuser, database: db.database },
    ]) {
      const raw = await RawSession.open(config);
      try {
        raw.send(...pipeline);
        traces.push(await raw.untilReady(9));
      } finally {
        await raw.close();
      }
    }
    const [viaGateway, direct] = traces;
    expect(viaGateway).toEqual(direct);
    expect(viaGateway).toEqual([
      ...['N(00000)', 'C(DO)', 'T(a:23)', 'D(1)', 'C(SELECT 1)', 'Z(I)'],
      ...['I', 'Z(I)'],
      ...['1', 't(23,25)', 'T(x:23,y:25)', '2', 'T(x:23,y:25)', 'D(5,five)', 's', 'C(SELECT 0)', '3', 'Z(I)'],
      ...['1', '2', 'H', 'd', 'd', 'd', 'c', 'C(COPY 3)', 'Z(I)'],
      ...['E(42883)', 'Z(I)'],
      ...['C(BEGIN)', 'E(22012)', 'Z(E)'],
      ...['E(25P02)', 'Z(E)'],
      ...['C(ROLLBACK)', 'Z(I)'],
      ...['3', 'Z(I)'],
    ]);
  });

  it('COPY FROM STDIN issued through Parse/Bind/Execute completes, and the session stays usable', async () => {
    await direct.query('create table ext_copy (id int, label text)');
    const raw = await RawSession.open(gw.pgConfig(await gw.issue()));
    try {
      raw.send(fe.parse('', 'copy ext_copy from stdin'), fe.bind('', ''), fe.execute(''), fe.sync());
      expect((await raw.read((m) => m.type === 'G')).map(summarise)).toEqual(['1', '2', 'G']);
      // As libpq does: CopyDone, then a Sync for the extended-protocol command (the first was ignored).
      raw.send(fe.copyData('1\tone\n'), fe.copyData('2\ttwo\n'), fe.copyDone(), fe.sync());
      expect(await raw.untilReady()).toEqual(['C(COPY 2)', 'Z(I)']);
      raw.send(fe.query('select count(*) from ext_copy'));
      expect(await raw.untilReady()).toEqual(['T(count:20)', 'D(2)', 'C(SELECT 1)', 'Z(I)']);
    } finally {
      await raw.close();
    }
  });

  it('after an extended-protocol COPY, revoking the token still ends the session promptly with the reason', async () => {
    await direct.query('create table ext_copy_revoke (id int)');
    const token = await gw.issue();
    const raw = await RawSession.open(gw.pgConfig(token));
    try {
      raw.send(fe.parse('', 'copy ext_copy_revoke from stdin'), fe.bind('', ''), fe.execute(''), fe.sync());
      await raw.read((m) => m.type === 'G');
      raw.send(fe.copyData('1\n'), fe.copyDone(), fe.sync());
      expect(await raw.untilReady()).toEqual(['C(COPY 1)', 'Z(I)']);
      raw.send(fe.query('select 1'));
      expect(await raw.untilReady()).toEqual(['T(?column?:23)', 'D(1)', 'C(SELECT 1)', 'Z(I)']);

      // The session is idle: ending it must not wait for an answer that will never come.
      const started = Date.now();
      gw.gateway.sessions.endTokens(new Set([token.tokenId]), 'revoked');
      const messages = await raw.read((m) => m.type === 'E', 1_500).catch((error: Error) => error);
      const elapsed = Date.now() - started;
      expect(messages instanceof Error ? messages.message : messages.map(summarise)).toEqual(['E(28P01)']);
      expect(elapsed).toBeLessThan(1_000);
    } finally {
      await raw.close();
    }
  });

  it('after an extended-protocol COPY, a batch the guard refuses is answered with its error', async () => {
    await direct.query('create table ext_copy_guard (id int)');
    const guarded = await startTestGateway(db, {
      guard: guardFromBatchCheck((batch: GuardBatch) =>
        batch.statements.some((s) => s.sql.includes('forbidden_marker'))
          ? { action: 'deny', message: 'refused by test guard', hint: 'do not' }
          : { action: 'allow' },
      ),
    });
    const raw = await RawSession.open(guarded.pgConfig(await guarded.issue()));
    try {
      // Without a COPY first, a refusal comes straight back.
      raw.send(fe.query("select 'forbidden_marker'"));
      expect(await raw.untilReady(1, 3_000)).toEqual(['E(42501)', 'Z(I)']);
      raw.send(fe.parse('', 'copy ext_copy_guard from stdin'), fe.bind('', ''), fe.execute(''), fe.sync());
      await raw.read((m) => m.type === 'G');
      raw.send(fe.copyData('1\n'), fe.copyDone(), fe.sync());
      expect(await raw.untilReady()).toEqual(['C(COPY 1)', 'Z(I)']);
      raw.send(fe.query("select 'forbidden_marker'"));
      const answer = await raw.untilReady(1, 1_500).catch((error: Error) => error.message);
      expect(answer).toEqual(['E(42501)', 'Z(I)']);
    } finally {
      await raw.close();
      await guarded.close(500);
    }
  });
});
