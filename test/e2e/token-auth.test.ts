/**
 * Agent token authentication through the gateway, as psql and node-postgres users see it: every refusal
 * is a FATAL with the right SQLSTATE and a message that says what went wrong and what to do; sessions
 * end when their token expires or is revoked; cleartext auth works from loopback; secrets never reach
 * the log.
 */
import { execFile } from 'node:child_process';
import net from 'node:net';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IssuedToken } from '../../src/identity/issue-token.js';
import { generateTokenId } from '../../src/identity/token-format.js';
import { decodeErrorFields } from '../../src/wire/postgres/backend-decoders.js';
import { encodeStartupMessage } from '../../src/wire/postgres/message-writer.js';
import { type RealPostgres, startRealPostgres } from '../helpers/real-postgres.js';
import { startTestGateway, type TestGateway } from '../helpers/test-gateway.js';

const run = promisify(execFile);

interface PsqlResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs psql without ever prompting; resolves with its exit code and output instead of throwing. */
async function psql(env: NodeJS.ProcessEnv, sql = 'select 1'): Promise<PsqlResult> {
  try {
    const { stdout, stderr } = await run('psql', ['-w', '-X', '-At', '-c', sql], { env, timeout: 20_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: unknown; stdout?: string; stderr?: string };
    return {
      code: typeof failed.code === 'number' ? failed.code : -1,
      stdout: failed.stdout ?? '',
      stderr: failed.stderr ?? '',
    };
  }
}

/** Connects with node-postgres and returns the error the gateway refused it with. */
async function pgRefusal(config: pg.ClientConfig): Promise<pg.DatabaseError> {
  const client = new pg.Client(config);
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (error) {
    return error as pg.DatabaseError;
  }
  await client.end();
  throw new Error('the gateway accepted a connection it should have refused');
}

/** A connected client plus a promise of the first error the server pushes outside a query. */
async function connectWatching(
  config: pg.ClientConfig,
): Promise<{ client: pg.Client; ended: Promise<pg.DatabaseError> }> {
  const client = new pg.Client(config);
  const ended = new Promise<pg.DatabaseError>((resolve) => {
    client.on('error', (error) => resolve(error as pg.DatabaseError));
  });
  await client.connect();
  return { client, ended };
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    promise,
    new Promise<T>((_, reject) =>
      setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms),
    ),
  ]);
}

/** Sends one raw StartupMessage and returns the fields of the ErrorResponse the gateway answers with. */
async function rawStartupRefusal(
  port: number,
  parameters: Record<string, string>,
): Promise<Map<string, string>> {
  const socket = net.connect({ host: '127.0.0.1', port });
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.write(encodeStartupMessage(parameters));
  await withTimeout(
    new Promise<void>((resolve) => socket.once('close', () => resolve())),
    5000,
    'gateway closing the connection',
  );
  const data = Buffer.concat(chunks);
  expect(String.fromCharCode(data[0] ?? 0)).toBe('E');
  return decodeErrorFields(data.subarray(5, 1 + data.readInt32BE(1)));
}

describe('agent token authentication', () => {
  let db: RealPostgres;
  let gw: TestGateway;
  let cleartextGw: TestGateway;
  /** Shifts the gateway's clock; reset after each test that moves it. */
  let clockOffset = 0;
  const secretsSeen: string[] = [];

  const issue = async (options?: Parameters<TestGateway['issue']>[0]): Promise<IssuedToken> => {
    const token = await gw.issue(options);
    secretsSeen.push(token.secret);
    return token;
  };

  beforeAll(async () => {
    db = await startRealPostgres();
    [gw, cleartextGw] = await Promise.all([
      startTestGateway(db, {
        now: () => Date.now() + clockOffset,
        extraYaml: 'tokens:\n  revocation_check: 200ms',
      }),
      startTestGateway(db, { extraYaml: 'auth:\n  method: password' }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([gw?.close(), cleartextGw?.close()]);
    await db?.stop();
  });

  it('a valid token connects with pg and psql (the baseline for the refusals below)', async () => {
    const token = await issue();
    const client = new pg.Client(gw.pgConfig(token));
    await client.connect();
    try {
      expect((await client.query('select current_database() as db')).rows).toEqual([{ db: 'shop' }]);
    } finally {
      await client.end();
    }
    const result = await psql(gw.env(token), 'select 40 + 2');
    expect(result).toMatchObject({ code: 0, stdout: '42\n' });
  });

  interface Credentials {
    readonly user: string;
    readonly password: string;
    readonly database: string;
    /** Undo anything the setup changed (e.g. the clock). */
    readonly restore?: () => void;
  }

  interface RefusalCase {
    readonly name: string;
    readonly setup: () => Promise<Credentials>;
    readonly code: string;
    readonly message: RegExp;
    readonly hint: RegExp;
  }

  const refusals: RefusalCase[] = [
    {
      name: 'an unknown (well-formed) token id',
      setup: async () => ({
        user: generateTokenId(),
        password: 'airlock_guessedguessedguessedguessedguessedguessed1',
        database: 'shop',
      }),
      code: '28P01',
      message: /^token "at_[a-z2-7]{20}" is not known to this gateway$/,
      hint: /airlock token issue/,
    },
    {
      name: 'a wrong secret',
      setup: async () => {
        const token = await issue();
        const wrong = `${token.secret.slice(0, -4)}AAAA`;
        secretsSeen.push(wrong);
        return { user: token.tokenId, password: wrong, database: 'shop' };
      },
      code: '28P01',
      message: /^token "at_[a-z2-7]{20}" was presented with the wrong secret$/,
      hint: /password printed by `airlock token issue`/,
    },
    {
      name: 'a revoked token',
      setup: async () => {
        const token = await issue();
        expect(await gw.store.revokeToken(token.tokenId, Date.now())).toBe(true);
        return { user: token.tokenId, password: token.secret, database: 'shop' };
      },
      code: '28P01',
      message: /^token "at_[a-z2-7]{20}" was revoked$/,
      hint: /issue a new token/,
    },
    {
      name: 'an expired token',
      setup: async () => {
        const token = await issue({ ttlMs: 60_000 });
        clockOffset = 2 * 60 * 60 * 1000;
        return {
          user: token.tokenId,
          password: token.secret,
          database: 'shop',
          restore: () => {
            clockOffset = 0;
          },
        };
      },
      code: '28P01',
      message: /^token "at_[a-z2-7]{20}" has expired$/,
      hint: /Issue a new token with `airlock token issue` and reconnect/,
    },
    {
      name: "a token for role `other` used with database `shop` (another role's upstream)",
      setup: async () => {
        const token = await issue({ role: 'other' });
        return { user: token.tokenId, password: token.secret, database: 'shop' };
      },
      code: '28P01',
      message: /^token "at_[a-z2-7]{20}" is not valid for this database$/,
      hint: /dbname set to the upstream of the token's role/,
    },
    {
      name: 'a user name that is not a token id',
      setup: async () => ({ user: 'alice', password: 'hunter2-not-a-token', database: 'shop' }),
      code: '28P01',
      message: /^token "alice" is not a well-formed token id$/,
      hint: /user name must be the token id \(at_…\)/,
    },
  ];

  const refusalRuns = refusals.flatMap((c) => [
    { ...c, client: 'node-postgres' as const },
    { ...c, client: 'psql' as const },
  ]);

  it.each(refusalRuns)('refuses $name ($client)', async ({ setup, code, message, hint, client }) => {
    const creds = await setup();
    try {
      if (client === 'node-postgres') {
        const error = await pgRefusal({
          host: gw.host,
          port: gw.port,
          user: creds.user,
          password: creds.password,
          database: creds.database,
        });
        expect(error.severity).toBe('FATAL');
        expect(error.code).toBe(code);
        expect(error.message).toMatch(message);
        expect(error.hint).toMatch(hint);
        return;
      }
      const result = await psql({
        ...db.psqlEnv(),
        PGHOST: gw.host,
        PGPORT: String(gw.port),
        PGUSER: creds.user,
        PGPASSWORD: creds.password,
        PGDATABASE: creds.database,
        PGSSLMODE: 'disable',
      });
      expect(result.code).not.toBe(0);
      // psql prints the FATAL message and the HINT line: what went wrong and what to do.
      const [fatal, hintLine] = result.stderr.trim().split('\n');
      expect(fatal).toMatch(/^psql: error: connection to server at .* failed: FATAL: {2}/);
      expect(fatal?.replace(/^.*FATAL: {2}/, '')).toMatch(message);
      expect(hintLine).toMatch(/^HINT: {2}/);
      expect(hintLine?.replace(/^HINT: {2}/, '')).toMatch(hint);
    } finally {
      creds.restore?.();
    }
  });

  it('the same token for role `other` works against its own upstream', async () => {
    const token = await issue({ role: 'other' });
    const client = new pg.Client(gw.pgConfig(token, 'other'));
    await client.connect();
    try {
      expect((await client.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await client.end();
    }
  });

  it('a token whose role was removed from the config since issue is refused (fail closed)', async () => {
    const token = await issue();
    const record = await gw.store.getToken(token.tokenId);
    // The same secret under a role the running config does not define, as after a config change.
    const orphan = { ...record!, tokenId: generateTokenId(), role: 'removed_role' };
    await gw.store.insertToken(orphan);
    const client = new pg.Client({ ...gw.pgConfig(token), user: orphan.tokenId });
    const error = (await client.connect().catch((e: unknown) => e)) as pg.DatabaseError;
    expect(error.code).toBe('28P01');
    expect(error.message).toMatch(/role that no longer exists/);
    expect(error.hint).toMatch(/issue a new token/);
  });

  it('a startup packet without a database is refused with 3D000 saying the database selects the upstream', async () => {
    const token = await issue();
    const fields = await rawStartupRefusal(gw.port, { user: token.tokenId });
    expect(fields.get('S')).toBe('FATAL');
    expect(fields.get('C')).toBe('3D000');
    expect(fields.get('M')).toBe('no database given: the database name selects the upstream');
    expect(fields.get('H')).toMatch(/dbname set to the upstream your token was issued for/);
  });

  it('clients that leave the database out (it defaults to the user name) are told to set dbname', async () => {
    const token = await issue();
    const env = { ...gw.env(token) };
    delete env.PGDATABASE;
    const result = await psql(env);
    expect(result.code).not.toBe(0);
    // 28P01 (not valid for this database) or 3D000 (no such upstream): either way the hint says what to do.
    expect(result.stderr).toMatch(
      /FATAL: {2}(token "at_\w+" is not valid for this database|upstream ".*" does not exist)/,
    );
    expect(result.stderr).toMatch(/HINT: {2}Connect with dbname set to the upstream/);

    const { database: _database, ...withoutDatabase } = gw.pgConfig(token);
    const error = await pgRefusal(withoutDatabase);
    expect(error.severity).toBe('FATAL');
    expect(['28P01', '3D000']).toContain(error.code);
    expect(error.hint).toMatch(/Connect with dbname set to the upstream/);
  });

  it('a database that names no upstream at all is refused with a hint to set dbname', async () => {
    const token = await issue();
    const error = await pgRefusal(gw.pgConfig(token, 'no_such_upstream'));
    expect(error.severity).toBe('FATAL');
    expect(['28P01', '3D000']).toContain(error.code);
    expect(error.hint).toMatch(/Connect with dbname set to the upstream/);
  });

  it('ends a session with FATAL 28P01 when its token expires while connected', async () => {
    const token = await issue({ ttlMs: 1500 });
    const { client, ended } = await connectWatching(gw.pgConfig(token));
    const started = Date.now();
    try {
      expect((await client.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
      const error = await withTimeout(ended, 5000, 'session end after token expiry');
      const elapsed = Date.now() - started;
      expect(error.code).toBe('28P01');
      expect(error.message).toBe(`token "${token.tokenId}" expired; session ended`);
      expect((error as pg.DatabaseError).hint).toMatch(
        /Issue a new token \(airlock token issue\) and reconnect/,
      );
      expect(elapsed).toBeGreaterThan(1000);
      expect(elapsed).toBeLessThan(5000);
      await expect(client.query('select 1')).rejects.toThrow();
    } finally {
      await client.end().catch(() => {});
    }
  });

  it('a statement running when the token expires is cancelled and the session ends with 28P01', async () => {
    const token = await issue({ ttlMs: 1000 });
    const { client } = await connectWatching(gw.pgConfig(token));
    try {
      // Like pg_terminate_backend on a real server: the FATAL arrives in place of the statement's result,
      // so the driver hands it to the running query.
      const running = client.query('select pg_sleep(20)').then(
        () => null,
        (error: pg.DatabaseError) => error,
      );
      const fatal = await withTimeout(running, 6000, 'session end after token expiry');
      expect(fatal?.code).toBe('28P01');
      expect(fatal?.message).toMatch(/expired; session ended/);
    } finally {
      await client.end().catch(() => {});
    }
    // And it no longer runs upstream.
    const admin = new pg.Client({ host: db.host, port: db.port, user: db.superuser, database: 'shop' });
    await admin.connect();
    try {
      // The cancel was sent when the session ended; the backend is gone moments later.
      const left = async () =>
        (
          await admin.query(
            "select count(*)::int as n from pg_stat_activity where query like '%pg_sleep(20)%' and pid <> pg_backend_pid()",
          )
        ).rows[0]?.n;
      await expect.poll(left, { timeout: 3000 }).toBe(0);
    } finally {
      await admin.end();
    }
  });

  it('a statement interrupted by token expiry is answered with the FATAL itself, before any ReadyForQuery', async () => {
    // libpq (psql) stops reading once the interrupted statement's ReadyForQuery arrives; a FATAL sent after
    // it is only seen by chance, so an agent may learn nothing but "canceling statement due to user request".
    // PostgreSQL itself answers a terminated statement with the FATAL (e.g. pg_terminate_backend: 57P01).
    const token = await issue({ ttlMs: 1000 });
    const { client, ended } = await connectWatching(gw.pgConfig(token));
    const seen: string[] = [];
    const connection = client.connection as unknown as NodeJS.EventEmitter;
    connection.on('errorMessage', (message: { code?: string }) => seen.push(`E:${message.code}`));
    connection.on('readyForQuery', () => seen.push('Z'));
    try {
      const running = client.query('select pg_sleep(20)').catch(() => null);
      await withTimeout(ended, 6000, 'session end after token expiry');
      await running;
      const fatalAt = seen.indexOf('E:28P01');
      expect(fatalAt, `messages after the statement was sent: ${seen.join(' ')}`).toBeGreaterThanOrEqual(0);
      expect(
        seen.slice(0, fatalAt),
        `messages after the statement was sent: ${seen.join(' ')}`,
      ).not.toContain('Z');
    } finally {
      await client.end().catch(() => {});
    }
  });

  it('ends a session within tokens.revocation_check when its token is revoked', async () => {
    const token = await issue();
    const { client, ended } = await connectWatching(gw.pgConfig(token));
    try {
      expect((await client.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
      const revokedAt = Date.now();
      await gw.store.revokeToken(token.tokenId, revokedAt);
      const error = await withTimeout(ended, 3000, 'session end after revocation');
      // revocation_check is 200ms; allow scheduling slack but not the 5 s default.
      expect(Date.now() - revokedAt).toBeLessThan(1500);
      expect(error.code).toBe('28P01');
      expect(error.message).toBe(`token "${token.tokenId}" was revoked; session ended`);
      expect((error as pg.DatabaseError).hint).toMatch(/operator revoked this token/);
    } finally {
      await client.end().catch(() => {});
    }
  });

  it('revoking one token leaves sessions of other tokens running', async () => {
    const [victim, bystander] = await Promise.all([issue(), issue()]);
    const a = await connectWatching(gw.pgConfig(victim));
    const b = await connectWatching(gw.pgConfig(bystander));
    try {
      await gw.store.revokeToken(victim.tokenId, Date.now());
      expect((await withTimeout(a.ended, 3000, 'revoked session end')).code).toBe('28P01');
      expect((await b.client.query('select 2 as two')).rows).toEqual([{ two: 2 }]);
    } finally {
      await a.client.end().catch(() => {});
      await b.client.end().catch(() => {});
    }
  });

  it('auth.method password: psql connects from loopback with the secret as password', async () => {
    const token = await cleartextGw.issue();
    secretsSeen.push(token.secret);
    const result = await psql(cleartextGw.env(token), 'select current_database()');
    expect(result).toMatchObject({ code: 0, stdout: 'shop\n' });
    const started = cleartextGw.logs
      .map((line) => JSON.parse(line) as { msg?: string; tokenId?: string; auth?: string })
      .find((entry) => entry.msg === 'session started' && entry.tokenId === token.tokenId);
    expect(started?.auth).toBe('password');
  });

  it('auth.method password: node-postgres connects, and is asked for a cleartext password', async () => {
    const token = await cleartextGw.issue();
    secretsSeen.push(token.secret);
    const client = new pg.Client(cleartextGw.pgConfig(token));
    const asked: string[] = [];
    client.connection.on('authenticationCleartextPassword', () => asked.push('cleartext'));
    client.connection.on('authenticationSASL', () => asked.push('sasl'));
    await client.connect();
    try {
      expect(asked).toEqual(['cleartext']);
      expect((await client.query('select 3 as three')).rows).toEqual([{ three: 3 }]);
    } finally {
      await client.end();
    }
  });

  it('auth.method password: a wrong or unknown secret is still refused with 28P01', async () => {
    const token = await cleartextGw.issue();
    const wrong = `${token.secret.slice(0, -3)}xyz`;
    secretsSeen.push(token.secret, wrong);
    const bad = await pgRefusal({ ...cleartextGw.pgConfig(token), password: wrong });
    expect(bad.code).toBe('28P01');
    expect(bad.message).toMatch(/wrong secret/);
    const unknown = await pgRefusal({ ...cleartextGw.pgConfig(token), user: generateTokenId() });
    expect(unknown.code).toBe('28P01');
    expect(unknown.message).toMatch(/is not known to this gateway/);
    const viaPsql = await psql({ ...cleartextGw.env(token), PGPASSWORD: wrong });
    expect(viaPsql.code).not.toBe(0);
    expect(viaPsql.stderr).toMatch(/FATAL: {2}token "at_\w+" was presented with the wrong secret/);
  });

  it('no token secret and no upstream password ever appears in the gateway logs', () => {
    const secrets = [...secretsSeen, db.users.scram.password];
    expect(secretsSeen.length).toBeGreaterThan(10);
    for (const [name, logs] of [
      ['scram gateway', gw.logs],
      ['cleartext gateway', cleartextGw.logs],
    ] as const) {
      expect(logs.length, name).toBeGreaterThan(0);
      for (const line of logs) {
        for (const secret of secrets)
          expect(line.includes(secret), `${name} log line leaks a secret: ${line}`).toBe(false);
      }
    }
  });
});
