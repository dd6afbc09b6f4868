/**
 * COPY through the gateway: psql COPY FROM STDIN / TO STDOUT and \copy (text and binary) of 100k rows
 * with awkward values, a data error mid-stream, CopyFail, and postgres.js streaming in both directions.
 * Contents are checked byte for byte and by checksums computed directly on the cluster.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IssuedToken } from '../../src/identity/issue-token.js';
import { type RealPostgres, startRealPostgres } from '../helpers/real-postgres.js';
import { startTestGateway, type TestGateway } from '../helpers/test-gateway.js';

const ROWS = 100_000;

interface Row {
  readonly id: number;
  readonly txt: string | null;
  readonly amount: string;
}

/** Values that exercise COPY's escaping: tabs, newlines, backslashes, non-ASCII, empty strings, NULLs. */
function makeRow(id: number): Row {
  const kinds = [
    `plain ${id}`,
    `tab\there ${id}`,
    `line\nbreak ${id}`,
    `back\\slash ${id}`,
    `ünïcødé ✓ ${id}`,
    '',
    `carriage\rreturn ${id}`,
  ];
  return { id, txt: id % 97 === 0 ? null : kinds[id % kinds.length]!, amount: (id * 3.25).toFixed(2) };
}
const ALL_ROWS: readonly Row[] = Array.from({ length: ROWS }, (_, i) => makeRow(i + 1));

const escapeCopy = (text: string): string =>
  text.replaceAll('\\', '\\\\').replaceAll('\t', '\\t').replaceAll('\n', '\\n').replaceAll('\r', '\\r');

/** COPY text format, exactly as the server writes it. */
const copyLine = (row: Row): string =>
  `${row.id}\t${row.txt === null ? '\\N' : escapeCopy(row.txt)}\t${row.amount}\n`;
const COPY_TEXT = ALL_ROWS.map(copyLine).join('');

/** Same formula as CHECKSUM_SQL, computed here from the values. */
const EXPECTED_CHECKSUM = createHash('md5')
  .update(ALL_ROWS.map((r) => `${r.id}|${r.txt ?? '<NULL>'}|${r.amount}`).join('\n'))
  .digest('hex');
const checksumSql = (table: string) =>
  `select count(*)::int as n, md5(string_agg(id || '|' || coalesce(txt, '<NULL>') || '|' || amount, E'\\n' order by id)) as sum from ${table}`;

interface Completed {
  readonly code: number | null;
  readonly stdout: Buffer;
  readonly stderr: string;
}

/** Runs psql with `input` on stdin and collects everything it prints. */
function psql(args: string[], env: NodeJS.ProcessEnv, input?: string | Buffer): Promise<Completed> {
  return new Promise((resolve, reject) => {
    const child = spawn('psql', ['-X', ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', reject);
    child.stdin.on('error', () => {});
    child.stdin.end(input);
    child.on('close', (code) =>
      resolve({ code, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') }),
    );
  });
}

describe('COPY through the gateway', () => {
  let db: RealPostgres;
  let gw: TestGateway;
  let token: IssuedToken;
  let owner: pg.Client;
  let scratch: string;

  async function createTable(name: string): Promise<void> {
    await owner.query(`create table ${name} (id int primary key, txt text, amount numeric(12,2))`);
  }
  async function checksum(table: string): Promise<{ n: number; sum: string | null }> {
    return (await owner.query(checksumSql(table))).rows[0];
  }

  beforeAll(async () => {
    db = await startRealPostgres();
    gw = await startTestGateway(db);
    token = await gw.issue({ ttlMs: 30 * 60_000 });
    owner = new pg.Client(db.url(db.users.scram.user, db.users.scram.password));
    await owner.connect();
    scratch = await mkdtemp(path.join(os.tmpdir(), 'airlock-copy-'));
  });
  afterAll(async () => {
    await owner?.end();
    await gw?.close();
    await db?.stop();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('psql COPY … FROM STDIN loads 100k rows exactly', async () => {
    await createTable('copied_in');
    const result = await psql(
      ['-v', 'ON_ERROR_STOP=1', '-c', 'COPY copied_in FROM STDIN'],
      gw.env(token),
      COPY_TEXT,
    );
    expect(result.stderr).toBe('');
    expect(result.stdout.toString()).toBe(`COPY ${ROWS}\n`);
    expect(result.code).toBe(0);
    expect(await checksum('copied_in')).toEqual({ n: ROWS, sum: EXPECTED_CHECKSUM });
  });

  it('psql COPY … TO STDOUT returns the same 100k rows byte for byte', async () => {
    const result = await psql(
      ['-v', 'ON_ERROR_STOP=1', '-c', 'COPY (select * from copied_in order by id) TO STDOUT'],
      gw.env(token),
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout.length).toBe(Buffer.byteLength(COPY_TEXT));
    expect(result.stdout.equals(Buffer.from(COPY_TEXT))).toBe(true);
  });

  it('psql \\copy to and from files, in text and binary format, round trips', async () => {
    await createTable('from_text_file');
    await createTable('from_binary_file');
    const textFile = path.join(scratch, 'rows.txt');
    const binaryFile = path.join(scratch, 'rows.bin');
    await writeFile(textFile, COPY_TEXT);
    const result = await psql(
      [
        '-v',
        'ON_ERROR_STOP=1',
        '-c',
        `\\copy from_text_file from '${textFile}'`,
        '-c',
        `\\copy (select * from from_text_file order by id) to '${path.join(scratch, 'back.txt')}'`,
        '-c',
        `\\copy (select * from from_text_file order by id) to '${binaryFile}' with (format binary)`,
        '-c',
        `\\copy from_binary_file from '${binaryFile}' with (format binary)`,
      ],
      gw.env(token),
    );
    expect(result.stderr).toBe('');
    expect(result.stdout.toString()).toBe(`COPY ${ROWS}\nCOPY ${ROWS}\nCOPY ${ROWS}\nCOPY ${ROWS}\n`);
    expect((await readFile(path.join(scratch, 'back.txt'))).equals(Buffer.from(COPY_TEXT))).toBe(true);
    expect((await readFile(binaryFile)).subarray(0, 11).toString('latin1')).toBe('PGCOPY\n\xff\r\n\0');
    expect(await checksum('from_text_file')).toEqual({ n: ROWS, sum: EXPECTED_CHECKSUM });
    expect(await checksum('from_binary_file')).toEqual({ n: ROWS, sum: EXPECTED_CHECKSUM });
  });

  it('a data error in the middle of a COPY fails that COPY only; the psql session goes on', async () => {
    await createTable('copy_error');
    const lines = ALL_ROWS.slice(0, 60_000).map(copyLine);
    lines[29_999] = 'oops\tbad row\t1.00\n';
    const script = [
      'COPY copy_error FROM STDIN;',
      `${lines.join('')}\\.`,
      'select count(*) from copy_error;',
      "select 'still here';",
      '',
    ].join('\n');
    const result = await psql(['-At', '-f', '-'], gw.env(token), script);
    expect(result.stderr).toContain('invalid input syntax for type integer: "oops"');
    expect(result.stderr).toContain('COPY copy_error, line 30000');
    expect(result.stdout.toString()).toBe('0\nstill here\n');
    expect(await checksum('copy_error')).toEqual({ n: 0, sum: null });
  });

  it('postgres.js streams 100k rows in with .writable() and out with .readable()', async () => {
    await createTable('streamed');
    const sql = postgres(gw.url(token), { max: 1, onnotice: () => {} });
    try {
      async function* chunks(): AsyncGenerator<string> {
        for (let i = 0; i < ROWS; i += 1000)
          yield ALL_ROWS.slice(i, i + 1000)
            .map(copyLine)
            .join('');
      }
      await pipeline(Readable.from(chunks()), await sql`copy streamed from stdin`.writable());
      expect(await checksum('streamed')).toEqual({ n: ROWS, sum: EXPECTED_CHECKSUM });
      const received: Buffer[] = [];
      const sink = new Writable({
        write(chunk: Buffer, _encoding, callback) {
          received.push(chunk);
          callback();
        },
      });
      await pipeline(await sql`copy (select * from streamed order by id) to stdout`.readable(), sink);
      expect(Buffer.concat(received).equals(Buffer.from(COPY_TEXT))).toBe(true);
      expect(await sql`select count(*)::int as n from streamed`).toEqual([{ n: ROWS }]);
    } finally {
      await sql.end();
    }
  });

  it('a slow consumer of a postgres.js COPY TO stream still gets every byte in order', async () => {
    // Its own connection: postgres.js leaves its socket paused after a back-pressured COPY TO ends
    // (directly too), so no further query could run on it.
    const sql = postgres(gw.url(token), { max: 1, onnotice: () => {} });
    try {
      const received: Buffer[] = [];
      const slow = new Writable({
        highWaterMark: 1024,
        write(chunk: Buffer, _encoding, callback) {
          received.push(chunk);
          if (received.length % 1000 === 0) setTimeout(callback, 10);
          else callback();
        },
      });
      await pipeline(await sql`copy (select * from copied_in order by id) to stdout`.readable(), slow);
      expect(Buffer.concat(received).equals(Buffer.from(COPY_TEXT))).toBe(true);
    } finally {
      await sql.end({ timeout: 1 });
    }
  });

  it('a COPY the client aborts (CopyFail) loads nothing and the session stays usable', async () => {
    await createTable('copy_failed');
    const sql = postgres(gw.url(token), { max: 1, onnotice: () => {} });
    try {
      const writable = await sql`copy copy_failed from stdin`.writable();
      const failed = new Promise<Error>((resolve) => writable.on('error', resolve));
      await new Promise<void>((resolve) =>
        writable.write(ALL_ROWS.slice(0, 500).map(copyLine).join(''), () => resolve()),
      );
      writable.destroy(new Error('client gave up'));
      expect((await failed).message).toBe('client gave up');
      expect(await sql`select 'usable' as s`).toEqual([{ s: 'usable' }]);
      expect(await sql`select count(*)::int as n from copy_failed`).toEqual([{ n: 0 }]);
      // And a later COPY on the same connection works.
      await pipeline(
        Readable.from([ALL_ROWS.slice(0, 10).map(copyLine).join('')]),
        await sql`copy copy_failed from stdin`.writable(),
      );
      expect(await sql`select count(*)::int as n from copy_failed`).toEqual([{ n: 10 }]);
    } finally {
      await sql.end();
    }
    expect(await checksum('copy_failed')).toMatchObject({ n: 10 });
  });
});
