/**
 * Big answers and big values through the gateway: 200k rows streamed to psql, a client that stops or
 * slows reading (the gateway must push back on the upstream rather than buffer), a cursor read slowly,
 * and 10 MiB values in both directions.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import pg from 'pg';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RealPostgres, startRealPostgres } from '../helpers/real-postgres.js';
import { startTestGateway, type TestGateway } from '../helpers/test-gateway.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const md5 = (text: string | Buffer): string => createHash('md5').update(text).digest('hex');

/** Runs psql and digests its stdout as it streams, without holding it in memory. */
function psqlDigest(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{
  code: number | null;
  lines: number;
  bytes: number;
  md5: string;
  lastLine: string;
  stderr: string;
}> {
  return new Promise((resolve, reject) => {
    const child = spawn('psql', ['-X', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const hash = createHash('md5');
    let lines = 0;
    let bytes = 0;
    let tail = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      bytes += chunk.length;
      for (const byte of chunk) if (byte === 10) lines++;
      tail = (tail + chunk.toString('latin1')).slice(-200);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({
        code,
        lines,
        bytes,
        md5: hash.digest('hex'),
        lastLine: tail.trimEnd().split('\n').pop() ?? '',
        stderr,
      }),
    );
  });
}

describe('large results and values through the gateway', () => {
  let db: RealPostgres;
  let gw: TestGateway;
  let superuser: pg.Client;

  /** State and wait event of the upstream backend whose agent label (after the gateway's token prefix) is `name`. */
  async function backend(name: string): Promise<{ state: string; wait_event: string | null } | undefined> {
    const result = await superuser.query<{ state: string; wait_event: string | null }>(
      "select state, wait_event from pg_stat_activity where application_name like 'airlock:% ' || $1",
      [name],
    );
    return result.rows[0];
  }

  beforeAll(async () => {
    db = await startRealPostgres();
    gw = await startTestGateway(db);
    superuser = new pg.Client({ host: db.host, port: db.port, user: db.superuser, database: db.database });
    await superuser.connect();
  });
  afterAll(async () => {
    await superuser?.end();
    await gw?.close();
    await db?.stop();
  });

  it('psql streams 200k rows through the gateway, every byte as the server sent it', async () => {
    const result = await psqlDigest(
      ['-At', '-c', 'select g, md5(g::text) from generate_series(1, 200000) g'],
      gw.env(await gw.issue()),
    );
    const expected = createHash('md5');
    for (let g = 1; g <= 200_000; g++) expected.update(`${g}|${md5(String(g))}\n`);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.lines).toBe(200_000);
    expect(result.lastLine).toBe(`200000|${md5('200000')}`);
    expect(result.md5).toBe(expected.digest('hex'));
  });

  it('a client that stops reading makes the upstream wait (no unbounded buffering), then gets every row', async () => {
    const name = 'paused-reader';
    const client = new pg.Client({ ...gw.pgConfig(await gw.issue()), application_name: name });
    await client.connect();
    try {
      const socket = client.connection.stream;
      // ~55 MB of rows: far more than the kernel buffers on the way can absorb.
      const query = client.query<{ g: number; pad: string }>(
        'select g, repeat(md5(g::text), 8) as pad from generate_series(1, 200000) g',
      );
      socket.pause();
      const buffersBefore = process.memoryUsage().arrayBuffers;

      // With back-pressure the backend ends up blocked writing to its socket, the statement unfinished.
      // Generous: on a loaded 2-core CI machine generating the rows alone took over 5 s once.
      const deadline = Date.now() + 20_000;
      let seen = await backend(name);
      while (!(seen?.state === 'active' && seen.wait_event === 'ClientWrite') && Date.now() < deadline) {
        await sleep(50);
        seen = await backend(name);
      }
      expect(seen).toEqual({ state: 'active', wait_event: 'ClientWrite' });
      await sleep(300);
      expect(await backend(name)).toEqual({ state: 'active', wait_event: 'ClientWrite' });
      // The gateway (in this process) holds only a bounded amount meanwhile.
      expect(process.memoryUsage().arrayBuffers - buffersBefore).toBeLessThan(32 * 1024 * 1024);

      // Read slowly for a while, then normally: the answer is complete and in order.
      for (let i = 0; i < 10; i++) {
        socket.resume();
        await sleep(10);
        socket.pause();
        await sleep(20);
      }
      socket.resume();
      const result = await query;
      expect(result.rows).toHaveLength(200_000);
      let ordered = true;
      for (let i = 0; i < result.rows.length; i++) {
        const row = result.rows[i]!;
        if (row.g !== i + 1 || row.pad.length !== 256) ordered = false;
      }
      expect(ordered).toBe(true);
      expect(result.rows[199_999]?.pad).toBe(md5('200000').repeat(8));
      expect((await client.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
      expect(await backend(name)).toMatchObject({ state: 'idle' });
    } finally {
      await client.end();
    }
  });

  it('a postgres.js cursor read slowly delivers every row in order', async () => {
    const sql = postgres(gw.url(await gw.issue()), { max: 1, onnotice: () => {} });
    try {
      let next = 1;
      let batches = 0;
      for await (const rows of sql<{ g: number; h: string }[]>`
        select g, md5(g::text) as h from generate_series(1, 50000) g`.cursor(1000)) {
        for (const row of rows) {
          if (row.g !== next || row.h !== md5(String(next)))
            throw new Error(`row ${next} came out as ${row.g}`);
          next++;
        }
        batches++;
        await sleep(2);
      }
      expect(next - 1).toBe(50_000);
      expect(batches).toBe(50);
    } finally {
      await sql.end();
    }
  });

  it('a 10 MiB text value round trips as a parameter, in a table, and as a result', async () => {
    const unit = 'ascii, ünïcødé ✓ and 𝄞 ';
    const value = unit.repeat(Math.ceil((10 * 1024 * 1024) / Buffer.byteLength(unit)));
    expect(Buffer.byteLength(value)).toBeGreaterThanOrEqual(10 * 1024 * 1024);

    const client = new pg.Client(gw.pgConfig(await gw.issue()));
    await client.connect();
    try {
      const echoed = await client.query<{ v: string; h: string; n: number }>(
        'select $1::text as v, md5($1::text) as h, octet_length($1::text) as n',
        [value],
      );
      expect(echoed.rows[0]?.n).toBe(Buffer.byteLength(value));
      expect(echoed.rows[0]?.h).toBe(md5(value));
      expect(echoed.rows[0]?.v === value).toBe(true);

      await client.query('create table big_values (id int primary key, v text)');
      await client.query('insert into big_values values (1, $1)', [value]);
      const generated = await client.query<{ v: string }>(
        `select repeat('0123456789abcdef', 655360) || 'end' as v`,
      );
      expect(generated.rows[0]?.v.length).toBe(10 * 1024 * 1024 + 3);
      expect(generated.rows[0]?.v.endsWith('fend')).toBe(true);
    } finally {
      await client.end();
    }
    const stored = await superuser.query<{ h: string }>('select md5(v) as h from big_values where id = 1');
    expect(stored.rows).toEqual([{ h: md5(value) }]);

    // postgres.js, through the simple and the extended protocol.
    const sql = postgres(gw.url(await gw.issue()), { max: 1, onnotice: () => {} });
    try {
      const [row] = await sql<{ v: string }[]>`select v from big_values where id = ${1}`;
      expect(row?.v === value).toBe(true);
      const [simple] = await sql<{ n: number }[]>`select octet_length(v)::int as n from big_values`.simple();
      expect(simple?.n).toBe(Buffer.byteLength(value));
      await sql`update big_values set v = ${`${value}!`} where id = 1`;
    } finally {
      await sql.end();
    }
    const updated = await superuser.query<{ h: string }>('select md5(v) as h from big_values where id = 1');
    expect(updated.rows).toEqual([{ h: md5(`${value}!`) }]);
  });
});
