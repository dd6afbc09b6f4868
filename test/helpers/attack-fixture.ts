/**
 * The stage for protocol attack suites: a real PostgreSQL with a protected table `vault` holding a
 * marker string (owned by the gateway's upstream role, so anything that slipped past the gateway would
 * really read or change it), a gateway enforcing a role that may use `notes` and is denied `vault`, and
 * `underAttack()`, which runs one attack and then checks the three things every case must keep: no byte
 * of the marker reached the client, the database did not change, and the gateway still serves others.
 */
import { isDeepStrictEqual } from 'node:util';
import pg from 'pg';
import { expect } from 'vitest';
import type { IssuedToken } from '../../src/identity/issue-token.js';
import { type BackendMessage, RawSession } from './raw-wire-session.js';
import { type RealPostgres, startRealPostgres } from './real-postgres.js';
import { startTestGateway, type TestGateway } from './test-gateway.js';

/** The protected content: it must never reach an agent, in any encoding. */
export const MARKER = 'vault-marker-5d21c9e7';

const ROWS_SQL = `
  insert into vault values (1, '${MARKER}'), (2, '${MARKER}-2');
  insert into notes values (1, 'first note'), (2, 'second note');
`;

const SCHEMA_SQL = `
  create table vault (id int primary key, secret text not null);
  create table notes (id int primary key, note text not null);
  ${ROWS_SQL}
  create function peek() returns text language sql as $$ select secret from vault order by id limit 1 $$;
`;

/** The agent's role: everything on `notes`, nothing on `vault`, and pg_sleep for cancel tests. */
const ROLES_YAML = [
  '  agent:',
  '    upstream: shop',
  '    search_path: [public]',
  '    allow:',
  '      - tables: [public.notes]',
  '        operations: [all]',
  '    deny:',
  '      - tables: [public.vault]',
  '    functions: [pg_catalog.pg_sleep]',
].join('\n');

/** What a fresh session reads from `notes` when the gateway is healthy. */
export const NOTES_ROWS = [{ note: 'first note' }, { note: 'second note' }];

export interface AttackFixture {
  readonly db: RealPostgres;
  readonly gw: TestGateway;
  /** Superuser connection straight to the cluster: the judge of what happened. */
  readonly admin: pg.Client;
  readonly token: IssuedToken;
  /** Logs in through the gateway as the agent, with extra startup parameters; the session is checked afterwards. */
  login(extra?: readonly (readonly [string, string])[]): Promise<RawSession>;
  /** Sends exactly these startup parameters (plus user and database first) and returns the answer. */
  attemptLogin(
    extra: readonly (readonly [string, string])[],
  ): Promise<{ session: RawSession; startup: BackendMessage[] }>;
  /** A raw session straight to the cluster as the superuser, for "what would PostgreSQL say" comparisons. */
  direct(): Promise<RawSession>;
  /** Runs one attack, then checks: no marker byte reached any session, no change, the gateway still serves. */
  underAttack(attack: () => Promise<void>): Promise<void>;
  close(): Promise<void>;
}

export async function startAttackFixture(): Promise<AttackFixture> {
  const db = await startRealPostgres();
  const owner = new pg.Client(db.url(db.users.scram.user, db.users.scram.password));
  await owner.connect();
  try {
    await owner.query(SCHEMA_SQL);
  } finally {
    await owner.end();
  }
  const admin = new pg.Client({ host: db.host, port: db.port, user: db.superuser, database: db.database });
  await admin.connect();
  const gw = await startTestGateway(db, { policy: true, rolesYaml: ROLES_YAML });
  const token = await gw.issue({ role: 'agent', subject: 'attacker' });
  let watched: RawSession[] = [];

  const attemptLogin = async (extra: readonly (readonly [string, string])[]) => {
    const result = await RawSession.login({
      host: gw.host,
      port: gw.port,
      parameters: [['user', token.tokenId], ['database', token.upstream], ...extra],
      password: token.secret,
    });
    watched.push(result.session);
    return result;
  };

  const fingerprint = async (): Promise<Record<string, unknown>> => {
    const { rows } = await admin.query(`
      select
        (select string_agg(id || ':' || secret, ',' order by id) from vault) as vault,
        (select string_agg(id || ':' || note, ',' order by id) from notes) as notes,
        (select string_agg(n.nspname || '.' || c.relname, ',' order by n.nspname, c.relname)
           from pg_class c join pg_namespace n on n.oid = c.relnamespace
          where n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast')
            and n.nspname not like 'pg_temp%' and n.nspname not like 'pg_toast_temp%') as relations,
        (select string_agg(rolname || rolsuper || rolcreaterole || rolcreatedb || rolreplication, ','
                           order by rolname) from pg_roles) as roles,
        (select count(*)::int from pg_db_role_setting) as role_settings,
        (select count(*)::int from pg_largeobject_metadata) as large_objects,
        (select count(*)::int from pg_prepared_xacts) as prepared_xacts`);
    return rows[0] as Record<string, unknown>;
  };

  const expectServes = async (): Promise<void> => {
    const client = new pg.Client(gw.pgConfig(token));
    await client.connect();
    try {
      expect((await client.query('select note from notes order by id')).rows).toEqual(NOTES_ROWS);
    } finally {
      await client.end();
    }
  };

  return {
    db,
    gw,
    admin,
    token,
    async login(extra = []) {
      const { session, startup } = await attemptLogin(extra);
      expect(startup.at(-1)?.type, 'login ends with ReadyForQuery').toBe('Z');
      return session;
    },
    attemptLogin,
    async direct() {
      const session = await RawSession.open({
        host: db.host,
        port: db.port,
        user: db.superuser,
        database: db.database,
      });
      watched.push(session);
      return session;
    },
    async underAttack(attack) {
      const before = await fingerprint();
      const logMark = gw.logs.length;
      watched = [];
      let failed: { error: unknown } | null = null;
      try {
        await attack();
      } catch (error) {
        failed = { error };
      }
      await Promise.all(watched.map((s) => s.close()));
      const after = await fingerprint();
      // A case that changed the tables fails; put the rows back so it does not fail the next ones too.
      if (!isDeepStrictEqual(after, before)) {
        await admin.query(`begin; delete from vault; delete from notes; ${ROWS_SQL}; commit`);
      }
      if (failed !== null) throw failed.error;
      for (const session of watched) {
        const received = session.received;
        expect(received.includes(MARKER), 'the marker reached the client').toBe(false);
        expect(
          received.includes(Buffer.from(MARKER).toString('hex')),
          'the marker reached the client as hex',
        ).toBe(false);
      }
      expect(after, 'the database changed').toEqual(before);
      await expectServes();
      const failures = gw.logs
        .slice(logMark)
        .filter((line) => (JSON.parse(line) as { level: number }).level >= 50);
      expect(failures, 'the gateway logged an internal failure').toEqual([]);
    },
    async close() {
      await gw.close();
      await admin.end();
      await db.stop();
    },
  };
}
