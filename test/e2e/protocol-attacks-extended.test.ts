/**
 * Protocol attacks, part 2: channels that reach the server without plain SQL text. FunctionCall by OID;
 * extended-protocol name games (close and re-parse, replacing the unnamed statement, binding a refused
 * name, names past the server's 63 bytes), SQL cursors executed through the protocol, a simple Query
 * inside an unfinished batch, COPY started through Parse/Bind/Execute, and pipelined refusals, which must
 * be answered in exactly the order and shape PostgreSQL itself would answer. Each case checks no marker
 * byte, no change, and a gateway that still serves.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AttackFixture, startAttackFixture } from '../helpers/attack-fixture.js';
import { errorFields, fe, type RawSession } from '../helpers/raw-wire-session.js';

const NOTES = ['D(first note)', 'D(second note)'];
const SELECT_NOTES = 'select note from notes order by id';

/** The same summaries with every SQLSTATE replaced by `x`: "an error here", whatever its code. */
const anyError = (trace: string[]): string[] => trace.map((s) => s.replace(/^E\(\w+\)$/, 'E(x)'));

describe('protocol attacks: FunctionCall, extended protocol, COPY, pipelining', () => {
  let f: AttackFixture;
  let oid: (signature: string) => Promise<number>;

  beforeAll(async () => {
    f = await startAttackFixture();
    oid = async (signature) =>
      (await f.admin.query<{ oid: number }>('select $1::regprocedure::oid::int as oid', [signature])).rows[0]!
        .oid;
  });
  afterAll(async () => {
    await f?.close();
  });

  /** The session's next answer to `select note from notes`: it is still in step and usable. */
  async function expectInStep(session: RawSession): Promise<void> {
    session.send(fe.query(SELECT_NOTES));
    expect(await session.untilReady()).toEqual(['T(note:25)', ...NOTES, 'C(SELECT 2)', 'Z(I)']);
  }

  // ---- FunctionCall ------------------------------------------------------------------------------

  it.each([
    { what: 'a SQL function that reads vault', signature: 'public.peek()', args: [] },
    { what: 'pg_read_file', signature: 'pg_catalog.pg_read_file(text)', args: ['postgresql.conf'] },
    {
      what: 'lo_import (server-side file into a large object)',
      signature: 'pg_catalog.lo_import(text)',
      args: ['/etc/passwd'],
    },
    {
      what: 'lo_creat (what libpq large objects start with)',
      signature: 'pg_catalog.lo_creat(integer)',
      args: ['-1'],
    },
    { what: 'a made-up OID', signature: null, args: [] },
  ])(
    'FunctionCall of $what by OID is refused with 42501 and the session stays in step',
    async ({ signature, args }) => {
      await f.underAttack(async () => {
        const session = await f.login();
        const target = signature === null ? 987_654_321 : await oid(signature);
        session.send(fe.functionCall(target, args));
        const answer = await session.read((m) => m.type === 'Z');
        expect(answer.map((m) => m.type)).toEqual(['E', 'Z']);
        const fields = errorFields(answer[0]!.body);
        expect(fields.get('C')).toBe('42501');
        expect(fields.get('M')).toMatch(/^airlock policy: /);
        await expectInStep(session);
      });
    },
  );

  // ---- extended protocol: names ------------------------------------------------------------------

  it('Close and re-Parse of an allowed name: the refused batch leaves the name as it was', async () => {
    await f.underAttack(async () => {
      const session = await f.login();
      session.send(fe.parse('s', SELECT_NOTES), fe.sync());
      expect(await session.untilReady()).toEqual(['1', 'Z(I)']);
      session.send(
        fe.close('S', 's'),
        fe.parse('s', 'select secret from vault'),
        fe.bind('', 's'),
        fe.execute(''),
        fe.sync(),
      );
      expect(await session.untilReady()).toEqual(['E(42501)', 'Z(I)']);
      // Nothing of the refused batch reached the server: `s` is still the allowed statement.
      session.send(fe.bind('', 's'), fe.execute(''), fe.sync());
      expect(await session.untilReady()).toEqual(['2', ...NOTES, 'C(SELECT 2)', 'Z(I)']);
      // Closing it for real, then re-parsing the name with vault, is refused as well.
      session.send(fe.close('S', 's'), fe.sync(), fe.parse('s', 'select secret from vault'), fe.sync());
      expect(await session.untilReady(2)).toEqual(['3', 'Z(I)', 'E(42501)', 'Z(I)']);
      session.send(fe.bind('', 's'), fe.execute(''), fe.sync());
      expect(await session.untilReady()).toEqual(['E(42501)', 'Z(I)']);
    });
  });

  it('replacing the unnamed statement before Sync: the whole batch is refused, the earlier portal runs what it was bound to', async () => {
    await f.underAttack(async () => {
      const session = await f.login();
      session.send(
        fe.parse('', SELECT_NOTES),
        fe.bind('', ''),
        fe.parse('', 'select secret from vault'),
        fe.bind('', ''),
        fe.execute(''),
        fe.sync(),
      );
      expect(await session.untilReady()).toEqual(['E(42501)', 'Z(I)']);
      // The allowed half forwarded first (Flush), the replacement refused afterwards.
      session.send(fe.parse('', SELECT_NOTES), fe.bind('p', ''), fe.flush());
      expect((await session.read((m) => m.type === '2')).map((m) => m.type)).toEqual(['1', '2']);
      session.send(fe.parse('', 'select secret from vault'), fe.execute('p'), fe.sync());
      expect(await session.untilReady()).toEqual(['E(42501)', 'Z(I)']);
      session.send(fe.bind('', ''), fe.execute(''), fe.sync());
      expect(await session.untilReady()).toEqual(['2', ...NOTES, 'C(SELECT 2)', 'Z(I)']);
    });
  });

  it('binding a name the gateway refused is refused again, at Bind/Execute and through SQL EXECUTE', async () => {
    await f.underAttack(async () => {
      const session = await f.login();
      session.send(fe.parse('bad', 'select secret from vault'), fe.sync());
      expect(await session.untilReady()).toEqual(['E(42501)', 'Z(I)']);
      session.send(fe.bind('', 'bad'), fe.execute(''), fe.sync());
      const answer = await session.read((m) => m.type === 'Z');
      expect(answer.map((m) => m.type)).toEqual(['E', 'Z']);
      expect(errorFields(answer[0]!.body).get('M')).toMatch(/unknown prepared statement or portal/);
      session.send(fe.describe('S', 'bad'), fe.sync());
      expect(await session.untilReady()).toEqual(['E(26000)', 'Z(I)']);
      for (const sql of ['execute bad', 'prepare bad2 as select secret from vault', 'execute bad2']) {
        session.send(fe.query(sql));
        expect(await session.untilReady(), sql).toEqual(['E(42501)', 'Z(I)']);
      }
      await expectInStep(session);
    });
  });

  it('statement and portal names longer than 63 bytes are the names the server keeps (their first 63 bytes)', async () => {
    await f.underAttack(async () => {
      const session = await f.login();
      const stem = 'n'.repeat(63);
      session.send(fe.parse(`${stem}_allowed`, SELECT_NOTES), fe.sync());
      expect(await session.untilReady()).toEqual(['1', 'Z(I)']);
      // The server truncates to 63 bytes: `…_other` is the statement above, and the gateway must agree.
      session.send(fe.bind('', `${stem}_other`), fe.execute(''), fe.sync());
      expect(await session.untilReady()).toEqual(['2', ...NOTES, 'C(SELECT 2)', 'Z(I)']);
      // A second Parse of the same 63 bytes is a duplicate to the server; with vault it is refused first.
      session.send(fe.parse(`${stem}_vault`, 'select secret from vault'), fe.sync());
      expect(await session.untilReady()).toEqual(['E(42501)', 'Z(I)']);
      session.send(fe.parse(`${stem}_dup`, 'select 1'), fe.sync());
      expect(await session.untilReady()).toEqual(['E(42P05)', 'Z(I)']);
      // Portal names too: bound under one long name, executed under another with the same 63 bytes.
      const portal = 'p'.repeat(63);
      session.send(
        fe.bind(`${portal}_one`, `${stem}_x`),
        fe.execute(`${portal}_two`),
        fe.close('P', `${portal}_three`),
        fe.sync(),
      );
      expect(await session.untilReady()).toEqual(['2', ...NOTES, 'C(SELECT 2)', '3', 'Z(I)']);
      // Closed under a third name, the portal is gone for the gateway too: executing it is refused.
      session.send(
        fe.bind(`${portal}_one`, `${stem}_x`),
        fe.close('P', `${portal}_three`),
        fe.execute(`${portal}_one`),
        fe.sync(),
      );
      expect(await session.untilReady()).toEqual(['E(42501)', 'Z(I)']);
      // Names cut in the middle of a two-byte character are still the same 63 bytes.
      const wide = 'é'.repeat(32); // 64 bytes: the server keeps 31 characters and half of the 32nd
      session.send(fe.parse(`${wide}a`, SELECT_NOTES), fe.bind('', `${wide}b`), fe.execute(''), fe.sync());
      expect(await session.untilReady()).toEqual(['1', '2', ...NOTES, 'C(SELECT 2)', 'Z(I)']);
    });
  });

  // ---- SQL cursors and the protocol -----------------------------------------------------------------

  it('DECLARE … CURSOR over vault is refused; a SQL cursor cannot be run by protocol Execute', async () => {
    await f.underAttack(async () => {
      const session = await f.login();
      session.send(fe.query('begin; declare c cursor for select secret from vault'));
      expect(await session.untilReady()).toEqual(['E(42501)', 'Z(I)']);
      session.send(fe.query('declare h cursor with hold for select secret from vault'));
      expect(await session.untilReady()).toEqual(['E(42501)', 'Z(I)']);
      session.send(fe.query(`begin; declare c cursor for ${SELECT_NOTES}`));
      expect(await session.untilReady()).toEqual(['C(BEGIN)', 'C(DECLARE CURSOR)', 'Z(T)']);
      // The cursor is a portal to the server, but not one the gateway saw bound: refused, transaction aborted.
      session.send(fe.execute('c'), fe.sync());
      expect(await session.untilReady()).toEqual(['E(42501)', 'Z(E)']);
      session.send(fe.query('rollback'));
      expect(await session.untilReady()).toEqual(['C(ROLLBACK)', 'Z(I)']);
      // FETCH through SQL reads only what the allowed DECLARE selected.
      session.send(fe.query(`begin; declare c cursor for ${SELECT_NOTES}; fetch all from c; commit`));
      expect(await session.untilReady()).toEqual([
        'C(BEGIN)',
        'C(DECLARE CURSOR)',
        'T(note:25)',
        ...NOTES,
        'C(FETCH 2)',
        'C(COMMIT)',
        'Z(I)',
      ]);
      // FETCH from a cursor that was never allowed fails at the server: it does not exist.
      session.send(fe.query('fetch all from h'));
      expect(await session.untilReady()).toEqual(['E(34000)', 'Z(I)']);
    });
  });

  // ---- a simple Query inside an unfinished extended batch --------------------------------------------

  it('a simple Query after a refused, unfinished batch is skipped up to Sync, as PostgreSQL does', async () => {
    await f.underAttack(async () => {
      const pipeline = (table: string) => [
        fe.parse('', `select secret from ${table}`),
        fe.bind('', ''),
        fe.execute(''),
        fe.query("select 'between' as q"),
        fe.sync(),
        fe.query("select 'after' as q"),
      ];
      const session = await f.login();
      session.send(...pipeline('vault'));
      const viaGateway = await session.untilReady(2);
      const direct = await f.direct();
      direct.send(...pipeline('no_such_table'));
      expect(anyError(viaGateway)).toEqual(anyError(await direct.untilReady(2)));
      expect(viaGateway).toEqual(['E(42501)', 'Z(I)', 'T(q:25)', 'D(after)', 'C(SELECT 1)', 'Z(I)']);
    });
  });

  it('a simple Query inside an unfinished allowed batch runs after it, in order, as PostgreSQL does', async () => {
    await f.underAttack(async () => {
      const pipeline = [
        fe.parse('', 'select $1::text as v'),
        fe.bind('', '', ['first']),
        fe.execute(''),
        fe.query("select 'second' as q"),
        fe.bind('', '', ['third']),
        fe.execute(''),
        fe.sync(),
      ];
      const session = await f.login();
      session.send(...pipeline);
      const viaGateway = await session.untilReady(2);
      const direct = await f.direct();
      direct.send(...pipeline);
      expect(viaGateway).toEqual(await direct.untilReady(2));
      expect(viaGateway).toEqual([
        '1',
        '2',
        'D(first)',
        'C(SELECT 1)',
        'T(q:25)',
        'D(second)',
        'C(SELECT 1)',
        'Z(I)',
        'E(26000)', // the Query dropped the unnamed statement, as it always does
        'Z(I)',
      ]);
    });
  });

  it('a refused Query inside an unfinished allowed batch rolls the batch back, as the error would upstream', async () => {
    await f.underAttack(async () => {
      const pipeline = (table: string) => [
        fe.parse('', "insert into notes values (100, 'pipelined')"),
        fe.bind('', ''),
        fe.execute(''),
        fe.query(`select secret from ${table}`),
        fe.sync(),
        fe.query('select count(*)::int as n from notes where id = 100'),
      ];
      const session = await f.login();
      session.send(...pipeline('vault'));
      const viaGateway = await session.untilReady(3);
      expect(viaGateway).toEqual([
        '1',
        '2',
        'C(INSERT 0 1)',
        'E(42501)',
        'Z(I)',
        'Z(I)',
        'T(n:23)',
        'D(0)',
        'C(SELECT 1)',
        'Z(I)',
      ]);
      const direct = await f.direct();
      direct.send(...pipeline('no_such_table'));
      expect(anyError(viaGateway)).toEqual(anyError(await direct.untilReady(3)));
    });
  });

  // ---- COPY through the extended protocol --------------------------------------------------------------

  it.each([
    'copy vault to stdout',
    'copy (select secret from vault) to stdout',
    'copy (select peek()) to stdout',
    'copy vault to stdout with (format binary)',
  ])('%s through Parse/Bind/Execute is refused with 42501', async (sql) => {
    await f.underAttack(async () => {
      const session = await f.login();
      session.send(fe.parse('', sql), fe.bind('', ''), fe.execute(''), fe.sync());
      expect(await session.untilReady()).toEqual(['E(42501)', 'Z(I)']);
      session.send(fe.query(sql));
      expect(await session.untilReady()).toEqual(['E(42501)', 'Z(I)']);
      await expectInStep(session);
    });
  });

  it.each(['extended', 'simple'])(
    'COPY vault FROM STDIN (%s) with its data pipelined: refused, then the stray data ends the session with 08P01',
    async (mode) => {
      await f.underAttack(async () => {
        const session = await f.login();
        const start =
          mode === 'extended'
            ? [fe.parse('', 'copy vault from stdin'), fe.bind('', ''), fe.execute(''), fe.sync()]
            : [fe.query('copy vault from stdin')];
        // A driver may stream COPY data before CopyInResponse arrives; for a refused COPY nothing reads it.
        session.send(...start, fe.copyData('3\tinjected\n'), fe.copyDone(), fe.sync());
        expect(await session.untilClosed()).toEqual(['E(42501)', 'Z(I)', 'E(08P01)']);
      });
    },
  );

  it('COPY notes FROM STDIN through Parse/Bind/Execute still works (and leaves the database as it was)', async () => {
    await f.underAttack(async () => {
      const session = await f.login();
      session.send(fe.query('begin'));
      expect(await session.untilReady()).toEqual(['C(BEGIN)', 'Z(T)']);
      session.send(fe.parse('', 'copy notes from stdin'), fe.bind('', ''), fe.execute(''), fe.sync());
      expect((await session.read((m) => m.type === 'G')).map((m) => m.type)).toEqual(['1', '2', 'G']);
      session.send(fe.copyData('7\tseven\n'), fe.copyDone(), fe.sync());
      expect(await session.untilReady()).toEqual(['C(COPY 1)', 'Z(T)']);
      session.send(fe.query('select note from notes where id = 7'), fe.query('rollback'));
      expect(await session.untilReady(2)).toEqual([
        'T(note:25)',
        'D(seven)',
        'C(SELECT 1)',
        'Z(T)',
        'C(ROLLBACK)',
        'Z(I)',
      ]);
    });
  });

  // ---- pipelined refusals, answered as PostgreSQL would --------------------------------------------------

  it('pipelined refusals are answered in order, error then skip to Sync, exactly like PostgreSQL', async () => {
    await f.underAttack(async () => {
      const pipeline = (table: string) => [
        fe.parse('', 'select note from notes where id = $1'),
        fe.bind('', '', ['1']),
        fe.execute(''),
        fe.sync(),
        fe.parse('', `select secret from ${table}`),
        fe.bind('', ''),
        fe.execute(''),
        fe.parse('skipped', SELECT_NOTES),
        fe.sync(),
        fe.query(`select secret from ${table}`),
        fe.parse('s2', 'select count(*)::int as n from notes'),
        fe.bind('', 's2'),
        fe.execute(''),
        fe.sync(),
        fe.bind('', 'skipped'),
        fe.execute(''),
        fe.sync(),
        fe.query('begin'),
        fe.query("insert into notes values (200, 'in a transaction')"),
        fe.query(`select secret from ${table}`),
        fe.query('select 1'),
        fe.query('commit'),
        fe.query('select count(*)::int as n from notes where id = 200'),
      ];
      const session = await f.login();
      session.send(...pipeline('vault'));
      const viaGateway = await session.untilReady(11);
      const direct = await f.direct();
      direct.send(...pipeline('no_such_table'));
      expect(anyError(viaGateway)).toEqual(anyError(await direct.untilReady(11)));
      expect(viaGateway.filter((s) => s.startsWith('E('))).toEqual([
        'E(42501)',
        'E(42501)',
        'E(42501)', // Bind of `skipped`: never parsed, refused by the gateway (26000 directly)
        'E(42501)',
        'E(25P02)',
      ]);
      expect(viaGateway.slice(-4)).toEqual(['T(n:23)', 'D(0)', 'C(SELECT 1)', 'Z(I)']);
    });
  });

  it('a refusal after a Flush-ed batch rolls back what that batch did, as the error would upstream', async () => {
    await f.underAttack(async () => {
      const pipeline = (table: string) => [
        fe.parse('', "insert into notes values (300, 'flushed')"),
        fe.bind('', ''),
        fe.execute(''),
        fe.flush(),
        fe.parse('', `select secret from ${table}`),
        fe.bind('', ''),
        fe.execute(''),
        fe.sync(),
        fe.query('select count(*)::int as n from notes where id = 300'),
      ];
      const session = await f.login();
      session.send(...pipeline('vault'));
      const viaGateway = await session.untilReady(2);
      expect(viaGateway).toEqual([
        '1',
        '2',
        'C(INSERT 0 1)',
        'E(42501)',
        'Z(I)',
        'T(n:23)',
        'D(0)',
        'C(SELECT 1)',
        'Z(I)',
      ]);
      const direct = await f.direct();
      direct.send(...pipeline('no_such_table'));
      expect(anyError(viaGateway)).toEqual(anyError(await direct.untilReady(2)));
    });
  });

  it('a refusal after a Flush-ed batch that failed upstream is skipped silently, exactly as the server skips it', async () => {
    await f.underAttack(async () => {
      const pipeline = (table: string) => [
        fe.query('begin'),
        fe.parse('', 'select 1 / $1::int'),
        fe.bind('', '', ['0']),
        fe.execute(''),
        fe.flush(),
        fe.parse('', `select secret from ${table}`),
        fe.bind('', ''),
        fe.execute(''),
        fe.sync(),
        fe.query('rollback'),
      ];
      const session = await f.login();
      session.send(...pipeline('vault'));
      const viaGateway = await session.untilReady(3);
      expect(viaGateway).toEqual(['C(BEGIN)', 'Z(T)', '1', 'E(22012)', 'Z(E)', 'C(ROLLBACK)', 'Z(I)']);
      const direct = await f.direct();
      direct.send(...pipeline('no_such_table'));
      expect(viaGateway).toEqual(await direct.untilReady(3));
      await expectInStep(session);
    });
  });

  it('the same outside a transaction block: one error, then the Sync answered', async () => {
    await f.underAttack(async () => {
      const pipeline = (table: string) => [
        fe.parse('', 'select 1 / $1::int'),
        fe.bind('', '', ['0']),
        fe.execute(''),
        fe.flush(),
        fe.parse('', `select secret from ${table}`),
        fe.bind('', ''),
        fe.execute(''),
        fe.sync(),
      ];
      const session = await f.login();
      session.send(...pipeline('vault'));
      const viaGateway = await session.untilReady(1);
      const direct = await f.direct();
      direct.send(...pipeline('no_such_table'));
      expect(viaGateway).toEqual(await direct.untilReady(1));
      expect(viaGateway).toEqual(['1', 'E(22012)', 'Z(I)']);
      await expectInStep(session);
    });
  });
});
