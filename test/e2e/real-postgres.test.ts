/** The test PostgreSQL helper: every auth method really runs, TLS-only users need TLS, stop leaves nothing. */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acceptsTcp, type RealPostgres, startRealPostgres } from '../helpers/real-postgres.js';

const execFileAsync = promisify(execFile);

type AuthRequest = 'cleartext' | 'md5' | 'sasl';

/** Connects with `pg`, recording which password exchange the server asked for (none means trust). */
async function connectRecordingAuth(
  config: pg.ClientConfig,
): Promise<{ client: pg.Client; asked: AuthRequest[] }> {
  const client = new pg.Client(config);
  const asked: AuthRequest[] = [];
  client.connection.on('authenticationCleartextPassword', () => asked.push('cleartext'));
  client.connection.on('authenticationMD5Password', () => asked.push('md5'));
  client.connection.on('authenticationSASL', () => asked.push('sasl'));
  await client.connect();
  return { client, asked };
}

async function currentUser(client: pg.Client): Promise<string> {
  const result = await client.query<{ user: string }>('SELECT current_user AS user');
  return result.rows[0]?.user ?? '';
}

/** PIDs whose command line names `text` (pgrep exits 1 when there are none). */
async function processesMatching(text: string): Promise<string[]> {
  try {
    const { stdout } = await execFileAsync('pgrep', ['-f', text]);
    return stdout.split('\n').filter(Boolean);
  } catch (error) {
    if ((error as { code?: number }).code === 1) return [];
    throw error;
  }
}

describe('startRealPostgres', () => {
  let server: RealPostgres;

  beforeAll(async () => {
    server = await startRealPostgres();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('lets the superuser in over TCP without a password', async () => {
    const { client, asked } = await connectRecordingAuth({
      host: server.host,
      port: server.port,
      user: 'postgres',
    });
    try {
      expect(asked).toEqual([]);
      const result = await client.query<{ superuser: string }>(
        "SELECT current_setting('is_superuser') AS superuser",
      );
      expect(result.rows[0]?.superuser).toBe('on');
    } finally {
      await client.end();
    }
  });

  const passwordCases = [
    { name: 'scram', auth: 'sasl' },
    { name: 'md5', auth: 'md5' },
    { name: 'cleartext', auth: 'cleartext' },
  ] as const;

  it.each(passwordCases)('authenticates $name users with the $auth exchange', async ({ name, auth }) => {
    const { user, password } = server.users[name];
    const { client, asked } = await connectRecordingAuth({ connectionString: server.url(user, password) });
    try {
      expect(asked).toEqual([auth]);
      expect(await currentUser(client)).toBe(user);
      await client.query(`CREATE TABLE ${name}_owned (id int)`);
    } finally {
      await client.end();
    }
  });

  it.each(passwordCases)('refuses $name users with a wrong password', async ({ name }) => {
    const client = new pg.Client({ connectionString: server.url(server.users[name].user, 'wrong') });
    await expect(client.connect()).rejects.toMatchObject({ code: '28P01' });
  });

  it('lets the trust user in without a password', async () => {
    const { client, asked } = await connectRecordingAuth({
      connectionString: server.url(server.users.trust.user),
    });
    try {
      expect(asked).toEqual([]);
      expect(await currentUser(client)).toBe('airlock_trust');
    } finally {
      await client.end();
    }
  });

  it('refuses the TLS-only user on a cluster without TLS', async () => {
    const { user, password } = server.users.tls;
    const client = new pg.Client({ connectionString: server.url(user, password) });
    await expect(client.connect()).rejects.toMatchObject({ code: '28000' });
  });

  it('gives psql an environment that reaches the cluster', async () => {
    const { stdout } = await execFileAsync('psql', ['-XAtc', 'SELECT current_database()'], {
      env: server.psqlEnv(),
    });
    expect(stdout.trim()).toBe('shop');
  });
});

describe('startRealPostgres({ ssl: true })', () => {
  let server: RealPostgres;

  beforeAll(async () => {
    server = await startRealPostgres({ ssl: true });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('accepts the TLS-only user over verified TLS', async () => {
    const { user, password } = server.users.tls;
    const client = new pg.Client({
      host: server.host,
      port: server.port,
      user,
      password,
      database: server.database,
      ssl: { ca: server.tls?.caPem, rejectUnauthorized: true },
    });
    await client.connect();
    try {
      const result = await client.query<{ ssl: boolean }>(
        'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()',
      );
      expect(result.rows[0]?.ssl).toBe(true);
    } finally {
      await client.end();
    }
  });

  it('refuses the TLS-only user without TLS', async () => {
    const { user, password } = server.users.tls;
    const client = new pg.Client({ connectionString: server.url(user, password), ssl: false });
    await expect(client.connect()).rejects.toMatchObject({ code: '28000' });
  });

  it('presents a certificate a client checking against another CA rejects', async () => {
    const { user, password } = server.users.tls;
    const client = new pg.Client({
      host: server.host,
      port: server.port,
      user,
      password,
      database: server.database,
      ssl: { rejectUnauthorized: true },
    });
    await expect(client.connect()).rejects.toThrow(
      /self[- ]signed|unable to verify|unable to get local issuer/i,
    );
  });
});

describe('RealPostgres.stop()', () => {
  it('closes the port, ends every server process and deletes the data directory', async () => {
    const server = await startRealPostgres();
    expect(await processesMatching(server.dataDir)).not.toEqual([]);

    await server.stop();

    expect(await acceptsTcp(server.port)).toBe(false);
    expect(await processesMatching(server.dataDir)).toEqual([]);
    expect(existsSync(server.dataDir)).toBe(false);
    await server.stop(); // idempotent
  });
});
