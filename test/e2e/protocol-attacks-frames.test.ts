/**
 * Protocol attacks, part 3: frames outside their context and cancel keys. COPY messages with no COPY in
 * progress, unknown message types, lengths that lie about their body and oversized messages get FATAL
 * 08P01 and a closed session; guessed or borrowed cancel keys cancel nothing, the right key cancels.
 * Each case checks no marker byte, no change, and a gateway that still serves.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AttackFixture, startAttackFixture } from '../helpers/attack-fixture.js';
import {
  cancelRequest,
  cstring,
  errorFields,
  fe,
  int16,
  int32,
  message,
} from '../helpers/raw-wire-session.js';

/** Sends a CancelRequest on a new connection and waits until the gateway closes it (it never answers). */
async function sendCancel(port: number, processId: number, secretKey: number): Promise<void> {
  const socket = net.connect({ host: '127.0.0.1', port });
  socket.on('error', () => {});
  const received: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => received.push(chunk));
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  socket.write(cancelRequest(processId, secretKey));
  await new Promise<void>((resolve) => socket.once('close', () => resolve()));
  expect(Buffer.concat(received).length).toBe(0);
}

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('protocol attacks: frames outside their context, lying lengths, cancel keys', () => {
  let f: AttackFixture;

  beforeAll(async () => {
    f = await startAttackFixture();
  });
  afterAll(async () => {
    await f?.close();
  });

  /** Logs in, sends `bytes` and expects FATAL 08P01 (message matching `reason`) and a closed connection. */
  async function expectProtocolViolation(
    bytes: Buffer[],
    reason: RegExp,
    before: Buffer[] = [],
  ): Promise<void> {
    await f.underAttack(async () => {
      const session = await f.login();
      if (before.length > 0) {
        session.send(...before);
        await session.untilReady();
      }
      session.send(...bytes);
      const fatal = await session.read((m) => m.type === 'E', 5_000);
      const fields = errorFields(fatal.at(-1)!.body);
      expect({ severity: fields.get('S'), code: fields.get('C') }).toEqual({
        severity: 'FATAL',
        code: '08P01',
      });
      expect(fields.get('M')).toMatch(reason);
      expect(await session.untilClosed()).toEqual([]);
    });
  }

  // ---- COPY messages outside COPY ----------------------------------------------------------------

  it.each([
    { name: 'CopyData', bytes: () => fe.copyData('1\tinjected\n') },
    { name: 'CopyDone', bytes: () => fe.copyDone() },
    { name: 'CopyFail', bytes: () => fe.copyFail('nothing to fail') },
  ])('$name with no COPY in progress gets FATAL 08P01 and the session closed', async ({ name, bytes }) => {
    await expectProtocolViolation([bytes(), fe.sync()], new RegExp(`${name} .*no COPY`));
  });

  it('CopyData after a finished COPY FROM STDIN gets FATAL 08P01', async () => {
    await f.underAttack(async () => {
      const session = await f.login();
      session.send(fe.query('begin'), fe.query('copy notes from stdin'));
      expect(await session.read((m) => m.type === 'G').then((ms) => ms.map((m) => m.type))).toEqual([
        'C',
        'Z',
        'G',
      ]);
      session.send(fe.copyData('8\teight\n'), fe.copyDone());
      expect(await session.untilReady()).toEqual(['C(COPY 1)', 'Z(T)']);
      session.send(fe.copyData('9\tnine\n'), fe.copyDone(), fe.query('commit'));
      const answer = await session.untilClosed();
      expect(answer).toEqual(['E(08P01)']);
    });
  });

  it('COPY data pipelined behind its statement, before CopyInResponse, is still accepted (simple and extended)', async () => {
    await f.underAttack(async () => {
      const session = await f.login();
      session.send(
        fe.query('begin'),
        fe.query('copy notes from stdin'),
        fe.copyData('11\televen\n'),
        fe.copyDone(),
      );
      expect(await session.untilReady(2)).toEqual(['C(BEGIN)', 'Z(T)', 'G', 'C(COPY 1)', 'Z(T)']);
      // All in one extended batch: the data and CopyDone before the Sync.
      session.send(
        fe.parse('', 'copy notes from stdin'),
        fe.bind('', ''),
        fe.execute(''),
        fe.copyData('12\ttwelve\n'),
        fe.copyDone(),
        fe.sync(),
        fe.query('select secret from vault'),
      );
      expect(await session.untilReady(2)).toEqual(['1', '2', 'G', 'C(COPY 1)', 'Z(T)', 'E(42501)', 'Z(E)']);
      session.send(fe.query('rollback'), fe.query('begin'), fe.query('copy notes from stdin'));
      const restarted = await session.read((m) => m.type === 'G');
      expect(restarted.map((m) => m.type)).toEqual(['C', 'Z', 'C', 'Z', 'G']);
      session.send(fe.copyData('11\televen\n12\ttwelve\n'), fe.copyDone());
      expect(await session.untilReady()).toEqual(['C(COPY 2)', 'Z(T)']);
      session.send(fe.query('select count(*)::int as n from notes where id > 10'), fe.query('rollback'));
      expect(await session.untilReady(2)).toEqual([
        'T(n:23)',
        'D(2)',
        'C(SELECT 1)',
        'Z(T)',
        'C(ROLLBACK)',
        'Z(I)',
      ]);
    });
  });

  it('psql COPY … FROM STDIN with inline data still works through the gateway', async () => {
    await f.underAttack(async () => {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'airlock-attack-'));
      try {
        const script = path.join(dir, 'copy.sql');
        await writeFile(
          script,
          'begin;\ncopy notes from stdin;\n21\ttwenty-one\n22\ttwenty-two\n\\.\nselect count(*) from notes;\nrollback;\n',
        );
        const { stdout } = await run('psql', ['-X', '-w', '-v', 'ON_ERROR_STOP=1', '-At', '-f', script], {
          env: f.gw.env(f.token),
        });
        expect(stdout.trim().split('\n')).toEqual(['BEGIN', 'COPY 2', '4', 'ROLLBACK']);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });

  it('CopyData inside an extended batch with no COPY in it gets FATAL 08P01', async () => {
    await expectProtocolViolation(
      [
        fe.parse('', "insert into notes values (400, 'x')"),
        fe.bind('', ''),
        fe.copyData('1\tx\n'),
        fe.execute(''),
        fe.sync(),
      ],
      /CopyData .*no COPY/,
    );
  });

  // ---- unknown message types -----------------------------------------------------------------------

  it.each([
    { name: "'z'", type: 'z' },
    { name: 'NUL', type: '\0' },
    { name: "'p' (a password message after login)", type: 'p' },
    { name: "'V' (a backend message type)", type: 'V' },
  ])('message type $name gets FATAL 08P01', async ({ type }) => {
    await expectProtocolViolation(
      [message(type, cstring('select secret from vault')), fe.query('select secret from vault')],
      /unexpected message type/,
    );
  });

  // ---- lying lengths -------------------------------------------------------------------------------------

  it('a Query whose length hides a second message inside it gets FATAL 08P01', async () => {
    const hidden = fe.query('select secret from vault');
    await expectProtocolViolation([message('Q', cstring('select 1'), hidden)], /Query: trailing bytes/);
  });

  it('a Query whose length ends before its terminator (the rest read as the next message) gets FATAL 08P01', async () => {
    const short = message('Q', Buffer.from('select note from notes'));
    await expectProtocolViolation(
      [short, fe.query('select secret from vault')],
      /Query: unterminated string/,
    );
  });

  it('a Bind whose length hides an Execute behind its result formats gets FATAL 08P01', async () => {
    const bind = message(
      'B',
      cstring(''),
      cstring(''),
      int16(0),
      int16(0),
      int16(0),
      fe.execute(''), // smuggled inside the Bind's body
    );
    await expectProtocolViolation(
      [fe.parse('', 'select note from notes'), bind, fe.sync()],
      /Bind: trailing bytes/,
    );
  });

  it.each([
    { name: 'Sync', type: 'S' },
    { name: 'Flush', type: 'H' },
    { name: 'CopyDone', type: 'c' },
  ])('a $name with a body gets FATAL 08P01', async ({ name, type }) => {
    await expectProtocolViolation(
      [message(type, fe.query('select secret from vault'))],
      new RegExp(`${name}: trailing bytes`),
    );
  });

  it('a Parse whose parameter count lies gets FATAL 08P01', async () => {
    const parse = message('P', cstring(''), cstring('select $1::text'), int16(3), int32(25));
    await expectProtocolViolation([parse, fe.sync()], /Parse: truncated/);
  });

  it.each([
    { name: 'length 0', length: 0 },
    { name: 'length 3', length: 3 },
    { name: 'a negative length', length: -5 },
  ])('a message with $name gets FATAL 08P01', async ({ length }) => {
    const bytes = Buffer.concat([Buffer.from('Q'), int32(length), cstring('select secret from vault')]);
    await expectProtocolViolation([bytes], /below the minimum of 4/);
  });

  it.each([
    { name: 'Query', type: 'Q' },
    { name: 'CopyData', type: 'd' },
    { name: 'Bind', type: 'B' },
  ])(
    'an oversized $name (1 GiB announced) is refused from its header alone with FATAL 08P01',
    async ({ type }) => {
      const header = Buffer.concat([Buffer.from(type), int32(1024 * 1024 * 1024)]);
      await expectProtocolViolation([header], /exceeds the gateway limit/);
    },
  );

  // ---- cancel keys -----------------------------------------------------------------------------------

  it('guessed and borrowed cancel keys cancel nothing; only the exact key of the session cancels it', async () => {
    await f.underAttack(async () => {
      const victim = await f.login();
      const other = await f.login();
      const victimKey = victim.backendKey!;
      const otherKey = other.backendKey!;
      expect(victimKey).not.toBeNull();
      expect(otherKey.processId).not.toBe(victimKey.processId);
      const running = async (): Promise<number> =>
        (
          await f.admin.query<{ n: number }>(
            "select count(*)::int as n from pg_stat_activity where state = 'active' and query = 'select pg_sleep(30)'",
          )
        ).rows[0]!.n;
      victim.send(fe.query('select pg_sleep(30)'));
      await expect.poll(running, { timeout: 5_000, interval: 20 }).toBe(1);

      const upstreamPid = (
        await f.admin.query<{ pid: number }>(
          "select pid from pg_stat_activity where state = 'active' and query = 'select pg_sleep(30)'",
        )
      ).rows[0]!.pid;
      const guesses: [number, number][] = [
        [victimKey.processId, victimKey.secretKey ^ 1], // right pid, wrong secret
        [victimKey.processId, otherKey.secretKey], // right pid, another session's secret
        [otherKey.processId, otherKey.secretKey], // another session's whole key
        [upstreamPid, victimKey.secretKey], // the real backend pid
        [victimKey.processId ^ 1, victimKey.secretKey],
        [0, 0],
        ...Array.from({ length: 20 }, (): [number, number] => [
          Math.floor(Math.random() * 2 ** 31),
          Math.floor(Math.random() * 2 ** 31),
        ]),
      ];
      for (const [processId, secretKey] of guesses) await sendCancel(f.gw.port, processId, secretKey);
      await sleep(200);
      expect(await running()).toBe(1);
      // The other session was not disturbed either.
      other.send(fe.query('select 1 as ok'));
      expect(await other.untilReady()).toEqual(['T(ok:23)', 'D(1)', 'C(SELECT 1)', 'Z(I)']);

      await sendCancel(f.gw.port, victimKey.processId, victimKey.secretKey);
      expect(await victim.untilReady()).toEqual(['T(pg_sleep:2278)', 'E(57014)', 'Z(I)']);
      expect(await running()).toBe(0);
      victim.send(fe.query('select note from notes order by id'));
      expect(await victim.untilReady()).toEqual([
        'T(note:25)',
        'D(first note)',
        'D(second note)',
        'C(SELECT 2)',
        'Z(I)',
      ]);
    });
  });
});
