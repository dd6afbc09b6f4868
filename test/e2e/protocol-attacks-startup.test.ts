/**
 * Protocol attacks, part 1: the startup packet and the session's string syntax. Startup parameters that
 * could change identity, privileges, name resolution, the read-only backstop or how SQL text is read
 * are refused (FATAL 42501) before any upstream session exists; replication connections are refused;
 * the accepted client encodings all lead to a UTF8 upstream session with standard_conforming_strings on,
 * which SQL cannot change. Each case checks no marker byte, no change, and a gateway that still serves.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AttackFixture, startAttackFixture } from '../helpers/attack-fixture.js';
import { type BackendMessage, errorFields, fe, message } from '../helpers/raw-wire-session.js';

/** The FATAL a refused login ends with, and that the gateway closed the connection after it. */
function expectStartupRefusal(startup: BackendMessage[], refused: string): void {
  const last = startup.at(-1)!;
  expect(last.type).toBe('E');
  const fields = errorFields(last.body);
  expect(fields.get('S')).toBe('FATAL');
  expect(fields.get('C')).toBe('42501');
  expect(fields.get('M')).toBe(
    `startup parameter ${JSON.stringify(refused)} is not allowed through the gateway`,
  );
  // Refused before authentication: nothing of a session was set up.
  expect(startup.map((m) => m.type)).toEqual(['E']);
}

describe('protocol attacks: startup parameters and string syntax', () => {
  let f: AttackFixture;

  beforeAll(async () => {
    f = await startAttackFixture();
  });
  afterAll(async () => {
    await f?.close();
  });

  it.each([
    { name: 'options', value: '-c search_path=pg_temp,public' },
    { name: 'options', value: '-c role=postgres' },
    { name: 'options', value: '--default_transaction_read_only=off -c session_authorization=postgres' },
    { name: 'role', value: 'postgres' },
    { name: 'session_authorization', value: 'postgres' },
    { name: 'default_transaction_read_only', value: 'off' },
    { name: 'standard_conforming_strings', value: 'off' },
    { name: 'search_path', value: 'pg_temp, public' },
    { name: 'Search_Path', value: 'pg_temp, public' },
    { name: 'ROLE', value: 'postgres' },
    { name: 'escape_string_warning', value: 'off' },
    { name: 'backslash_quote', value: 'on' },
    { name: 'check_function_bodies', value: 'off' },
    { name: 'session_preload_libraries', value: 'auto_explain' },
    { name: 'replication', value: 'true' },
    { name: 'replication', value: 'database' },
    { name: 'replication', value: 'on' },
  ])('startup parameter $name=$value is refused with FATAL 42501', async ({ name, value }) => {
    await f.underAttack(async () => {
      const { session, startup } = await f.attemptLogin([[name, value]]);
      expectStartupRefusal(startup, name);
      expect(await session.untilClosed()).toEqual([]);
    });
  });

  it.each(['LATIN1', 'SJIS', 'GBK', 'BIG5', 'EUC_JP', 'WIN1252', 'UTF16', 'auto'])(
    'client_encoding=%s is refused: the gateway parses what the server parses only in UTF8',
    async (encoding) => {
      await f.underAttack(async () => {
        const { session, startup } = await f.attemptLogin([['client_encoding', encoding]]);
        expectStartupRefusal(startup, `client_encoding=${encoding}`);
        expect(await session.untilClosed()).toEqual([]);
      });
    },
  );

  it.each(['UTF8', 'utf-8', 'Unicode', 'SQL_ASCII'])(
    'client_encoding=%s is accepted, and the upstream session is UTF8 with standard_conforming_strings on',
    async (encoding) => {
      await f.underAttack(async () => {
        const session = await f.login([['client_encoding', encoding]]);
        session.send(fe.query('show client_encoding'), fe.query('show standard_conforming_strings'));
        expect(await session.untilReady(2)).toEqual([
          'T(client_encoding:25)',
          'D(UTF8)',
          'C(SHOW)',
          'Z(I)',
          'T(standard_conforming_strings:25)',
          'D(on)',
          'C(SHOW)',
          'Z(I)',
        ]);
      });
    },
  );

  it('accepted parameters are labels and formats only: the session still acts as the upstream role', async () => {
    await f.underAttack(async () => {
      const label = "agent' -c role=postgres";
      const session = await f.login([
        ['application_name', label],
        ['DateStyle', 'ISO, DMY'],
        ['TimeZone', 'UTC'],
        ['extra_float_digits', '3'],
      ]);
      session.send(fe.query('show application_name'), fe.query('show DateStyle'));
      // The upstream label names the token first; the agent's label follows, as inert text.
      const shown = `airlock:${f.token.tokenId} ${label}`;
      expect(await session.untilReady(2)).toEqual([
        'T(application_name:25)',
        `D(${shown})`,
        'C(SHOW)',
        'Z(I)',
        'T(DateStyle:25)',
        'D(ISO, DMY)',
        'C(SHOW)',
        'Z(I)',
      ]);
      const { rows } = await f.admin.query<{ usename: string }>(
        'select usename from pg_stat_activity where application_name = $1',
        [shown],
      );
      expect(rows.map((r) => r.usename)).toEqual([f.db.users.scram.user]);
    });
  });

  it('SQL cannot change the encoding or string syntax afterwards; RESET ALL returns to the pinned values', async () => {
    await f.underAttack(async () => {
      const session = await f.login([['client_encoding', 'SQL_ASCII']]);
      for (const sql of [
        "set client_encoding = 'SJIS'",
        "set names 'LATIN1'",
        'set standard_conforming_strings = off',
        "select set_config('standard_conforming_strings', 'off', false)",
        "update pg_settings set setting = 'off' where name = 'standard_conforming_strings'",
        'set backslash_quote = on',
      ]) {
        session.send(fe.query(sql));
        expect(await session.untilReady(), sql).toEqual(['E(42501)', 'Z(I)']);
      }
      session.send(
        fe.query('reset all'),
        fe.query('show standard_conforming_strings'),
        fe.query('show client_encoding'),
      );
      expect(await session.untilReady(3)).toEqual([
        'C(RESET)',
        'Z(I)',
        'T(standard_conforming_strings:25)',
        'D(on)',
        'C(SHOW)',
        'Z(I)',
        'T(client_encoding:25)',
        'D(UTF8)',
        'C(SHOW)',
        'Z(I)',
      ]);
    });
  });

  it('string-syntax tricks are read by the gateway as the server reads them', async () => {
    await f.underAttack(async () => {
      const session = await f.login();
      // With standard_conforming_strings on, a backslash does not escape the quote: the string ends there
      // and the rest is SQL that reads vault. The gateway's parser must see the same.
      for (const sql of [
        "select note from notes where note = 'x\\' union select secret from vault --'",
        "select note from notes where note = E'x\\'' union select secret from vault --'",
        "select note from notes where note = U&'x\\0027' union select secret from vault --'",
        'select note from notes where note = $$x$$ union select secret from vault --$$',
        'select note from notes where note = $a$x$b$ $a$ union select secret from vault --',
      ]) {
        session.send(fe.query(sql));
        expect(await session.untilReady(), sql).toEqual(['E(42501)', 'Z(I)']);
      }
      // Bytes that are not UTF-8 (an overlong quote, a lead byte eating a quote in a legacy encoding)
      // are refused by the server, whatever the gateway made of them.
      for (const bytes of [Buffer.from([0xc0, 0xa7]), Buffer.from([0x81, 0x27]), Buffer.from([0xe3, 0x27])]) {
        const sql = Buffer.concat([
          Buffer.from("select note from notes where note = 'x"),
          bytes,
          Buffer.from(" union select secret from vault --'"),
          Buffer.from([0]),
        ]);
        session.send(message('Q', sql));
        const answer = await session.untilReady();
        expect(answer[0], bytes.toString('hex')).toMatch(/^E\((42501|22021)\)$/);
        expect(answer.at(-1)).toBe('Z(I)');
      }
    });
  });
});
