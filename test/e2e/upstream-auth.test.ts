/**
 * The gateway's own upstream session: every upstream auth method works, and when the upstream refuses
 * or cannot be reached the agent gets a prompt FATAL 08006 that reveals neither the upstream
 * credential nor the upstream's own error text (those stay in the gateway log).
 */
import { execFile } from 'node:child_process';
import net from 'node:net';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load-config.js';
import { type IssuedToken, issueToken } from '../../src/identity/issue-token.js';
import { startGateway } from '../../src/main.js';
import { createLogger } from '../../src/observability/logger.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { findFreePort, type RealPostgres, startRealPostgres } from '../helpers/real-postgres.js';
import { startTestGateway, type UpstreamUserKind } from '../helpers/test-gateway.js';

const run = promisify(execFile);

interface LogEntry {
  readonly level?: number;
  readonly msg?: string;
  readonly detail?: string;
  readonly sqlState?: string;
}

/** What an agent receives on one connection attempt: the outcome plus every byte the gateway sent. */
interface AgentView {
  readonly error: (Error & Partial<pg.DatabaseError>) | null;
  readonly received: Buffer;
  readonly parameters: ReadonlyMap<string, string>;
  readonly rows: Record<string, unknown>[];
  readonly elapsedMs: number;
}

/** Connects with node-postgres recording the raw bytes and startup ParameterStatus; runs `sql` when connected. */
async function connectAsAgent(config: pg.ClientConfig, sql: readonly string[] = []): Promise<AgentView> {
  const client = new pg.Client(config);
  client.on('error', () => {});
  const connection = (client as unknown as { connection: pg.Connection & { stream: net.Socket } }).connection;
  const chunks: Buffer[] = [];
  connection.stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  const parameters = new Map<string, string>();
  connection.on('parameterStatus', (message: { parameterName: string; parameterValue: string }) => {
    parameters.set(message.parameterName, message.parameterValue);
  });
  const started = performance.now();
  try {
    await client.connect();
  } catch (error) {
    return {
      error: error as Error & Partial<pg.DatabaseError>,
      received: Buffer.concat(chunks),
      parameters,
      rows: [],
      elapsedMs: performance.now() - started,
    };
  }
  const elapsedMs = performance.now() - started;
  const rows: Record<string, unknown>[] = [];
  try {
    for (const statement of sql) {
      const result = await client
        .query(statement)
        .catch((error: Error) => ({ rows: [{ error: error.message }] }));
      rows.push(...result.rows);
    }
  } finally {
    await client.end();
  }
  return { error: null, received: Buffer.concat(chunks), parameters, rows, elapsedMs };
}

/** A gateway from YAML written here: lets a test give the upstream any password, port or timeout. */
async function startCustomGateway(options: {
  user: string;
  password: string | null;
  port: number;
  connectTimeout?: string;
}): Promise<{
  port: number;
  logs: string[];
  issue(): Promise<IssuedToken>;
  close(): Promise<void>;
}> {
  const yaml = [
    'listen:',
    '  postgres: 127.0.0.1:0',
    'store: "sqlite::memory:"',
    'upstreams:',
    '  shop:',
    `    url: postgres://${options.user}@127.0.0.1:${options.port}/shop`,
    // biome-ignore lint/suspicious/noTemplateCurlyInString: ${VAR} is the config loader's env substitution.
    ...(options.password === null ? [] : ['    password: ${UPSTREAM_PASSWORD}']),
    '    tls: disable',
    `    connect_timeout: ${options.connectTimeout ?? '5s'}`,
    'roles:',
    '  reporting:',
    '    upstream: shop',
    'log:',
    '  level: debug',
  ].join('\n');
  const config = parseConfigText(yaml, {
    baseDir: process.cwd(),
    source: null,
    env: { UPSTREAM_PASSWORD: options.password ?? '' },
  });
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') logs.push(line);
      callback();
    },
  });
  const store = new SqliteStore(':memory:');
  const gateway = await startGateway({ config, store, logger: createLogger('debug', sink) });
  return {
    port: gateway.postgres.port,
    logs,
    issue: () =>
      issueToken(
        { store, config, now: Date.now },
        { role: 'reporting', subject: 'upstream-e2e', reason: 'e2e' },
      ),
    close: async () => {
      await gateway.close(1000);
      await store.close();
    },
  };
}

function agentConfig(port: number, token: IssuedToken): pg.ClientConfig {
  return { host: '127.0.0.1', port, user: token.tokenId, password: token.secret, database: 'shop' };
}

function upstreamUnavailableLogs(logs: readonly string[]): LogEntry[] {
  return logs
    .map((line) => JSON.parse(line) as LogEntry)
    .filter((entry) => entry.msg === 'upstream unavailable');
}

/** Every text field of a pg error, for "does not contain" checks. */
function errorText(error: Error & Partial<pg.DatabaseError>): string {
  return [error.message, error.detail, error.hint, error.where, error.code].filter(Boolean).join('\n');
}

describe("the gateway's upstream session", () => {
  let db: RealPostgres;

  beforeAll(async () => {
    db = await startRealPostgres();
  });
  afterAll(async () => {
    await db?.stop();
  });

  const kinds: readonly Exclude<UpstreamUserKind, 'tls'>[] = ['scram', 'md5', 'cleartext', 'trust'];

  it.each(kinds)('works with a %s upstream user, and the agent never sees that credential', async (kind) => {
    const gw = await startTestGateway(db, { upstreamUser: kind });
    try {
      const token = await gw.issue();
      const upstreamUser = db.users[kind].user;
      const view = await connectAsAgent(gw.pgConfig(token), [
        'select current_user as who',
        'select 1/0 as boom',
        "select setting as enc from pg_settings where name = 'password_encryption'",
      ]);
      expect(view.error).toBeNull();
      expect(view.rows[0]).toEqual({ who: upstreamUser });
      expect(view.rows[1]).toEqual({ error: 'division by zero' });
      // The startup ParameterStatus names the token, not the gateway's upstream account.
      expect(view.parameters.get('session_authorization')).toBe(token.tokenId);
      for (const [name, value] of view.parameters) {
        expect(value.includes(upstreamUser), `ParameterStatus ${name}=${value}`).toBe(false);
      }
      const password =
        'password' in db.users[kind] ? (db.users[kind] as { password: string }).password : null;
      if (password !== null) expect(view.received.includes(Buffer.from(password))).toBe(false);
      for (const line of gw.logs) if (password !== null) expect(line.includes(password)).toBe(false);
    } finally {
      await gw.close();
    }
  });

  it.each(['scram', 'md5', 'cleartext'] as const)(
    'a wrong upstream password for the %s user gives the agent FATAL 08006 without upstream details',
    async (kind) => {
      const wrongPassword = `wrong-${kind}-upstream-password-${Date.now()}`;
      const upstreamUser = db.users[kind].user;
      const gw = await startCustomGateway({ user: upstreamUser, password: wrongPassword, port: db.port });
      try {
        const token = await gw.issue();
        const view = await connectAsAgent(agentConfig(gw.port, token));
        expect(view.error).not.toBeNull();
        const error = view.error!;
        expect(error.severity).toBe('FATAL');
        expect(error.code).toBe('08006');
        expect(error.message).toBe('upstream "shop" is unavailable');
        expect(error.hint).toMatch(/Retry shortly; .*gateway log/);
        const text = errorText(error);
        for (const secret of [wrongPassword, db.users[kind].password]) {
          expect(text.includes(secret)).toBe(false);
          expect(view.received.includes(Buffer.from(secret))).toBe(false);
        }
        // The upstream's own refusal is for the operator, not the agent.
        expect(text).not.toMatch(/password authentication failed|28P01/);
        expect(view.received.toString('latin1')).not.toMatch(/password authentication failed|28P01/);
        expect(text.includes(upstreamUser)).toBe(false);

        const [logged] = upstreamUnavailableLogs(gw.logs);
        expect(logged?.sqlState).toBe('28P01');
        expect(logged?.detail).toMatch(/password authentication failed for user/);
        for (const line of gw.logs) expect(line.includes(wrongPassword)).toBe(false);

        const viaPsql = await run('psql', ['-w', '-X', '-c', 'select 1'], {
          env: {
            ...db.psqlEnv(),
            PGHOST: '127.0.0.1',
            PGPORT: String(gw.port),
            PGUSER: token.tokenId,
            PGPASSWORD: token.secret,
            PGDATABASE: 'shop',
            PGSSLMODE: 'disable',
          },
        }).then(
          () => ({ stderr: '' }),
          (failure: { stderr?: string }) => ({ stderr: failure.stderr ?? '' }),
        );
        expect(viaPsql.stderr).toMatch(/FATAL: {2}upstream "shop" is unavailable/);
        expect(viaPsql.stderr).not.toMatch(/password authentication failed/);
      } finally {
        await gw.close();
      }
    },
  );

  it('an upstream that asks for a password none is configured for gives 08006', async () => {
    const gw = await startCustomGateway({ user: db.users.scram.user, password: null, port: db.port });
    try {
      const token = await gw.issue();
      const view = await connectAsAgent(agentConfig(gw.port, token));
      expect(view.error?.code).toBe('08006');
      expect(upstreamUnavailableLogs(gw.logs)[0]?.detail).toMatch(
        /asked for a password .* none is configured/,
      );
    } finally {
      await gw.close();
    }
  });

  it('upstream tls: require against a server without TLS gives 08006, and the log says why', async () => {
    const gw = await startTestGateway(db, { upstreamTls: 'require' });
    try {
      const token = await gw.issue();
      const view = await connectAsAgent(gw.pgConfig(token));
      expect(view.error?.code).toBe('08006');
      expect(view.error?.message).toBe('upstream "shop" is unavailable');
      expect(upstreamUnavailableLogs(gw.logs)[0]?.detail).toMatch(/does not accept TLS/);
    } finally {
      await gw.close();
    }
  });

  it('a closed upstream port gives 08006 at once, well before connect_timeout', async () => {
    const closedPort = await findFreePort();
    const gw = await startTestGateway(db, { upstreamPort: closedPort });
    try {
      const token = await gw.issue();
      const view = await connectAsAgent(gw.pgConfig(token));
      expect(view.error?.severity).toBe('FATAL');
      expect(view.error?.code).toBe('08006');
      expect(view.error?.message).toBe('upstream "shop" is unavailable');
      // connect_timeout is 5 s in the test gateway; a refused TCP connect must not wait for it.
      expect(view.elapsedMs).toBeLessThan(1500);
      expect(upstreamUnavailableLogs(gw.logs)[0]?.detail).toMatch(/ECONNREFUSED/);
    } finally {
      await gw.close();
    }
  });

  it('an upstream that accepts TCP but never answers gives 08006 after connect_timeout', async () => {
    const held: net.Socket[] = [];
    const silent = net.createServer((socket) => {
      held.push(socket);
      socket.on('error', () => {});
      // Read (and ignore) the startup packet so a FIN from the gateway is noticed.
      socket.resume();
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const silentPort = (silent.address() as net.AddressInfo).port;
    const gw = await startCustomGateway({
      user: db.users.scram.user,
      password: db.users.scram.password,
      port: silentPort,
      connectTimeout: '400ms',
    });
    try {
      const token = await gw.issue();
      const view = await connectAsAgent(agentConfig(gw.port, token));
      expect(view.error?.code).toBe('08006');
      expect(view.elapsedMs).toBeGreaterThan(350);
      expect(view.elapsedMs).toBeLessThan(2500);
      expect(upstreamUnavailableLogs(gw.logs)).toHaveLength(1);
      // The gateway gave up on the silent upstream: its socket is closed from the gateway side.
      await expect
        .poll(() => held.every((socket) => socket.destroyed || socket.readableEnded), { timeout: 2000 })
        .toBe(true);
    } finally {
      await gw.close();
      for (const socket of held) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('a slow upstream is reported as 08006, not as the agent being slow, when startup_timeout is the shorter limit', async () => {
    const held: net.Socket[] = [];
    const silent = net.createServer((socket) => {
      held.push(socket);
      socket.on('error', () => {});
      socket.resume();
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    // connect_timeout is 5 s in the test gateway; the agent-side startup budget is 500 ms.
    const gw = await startTestGateway(db, {
      upstreamPort: (silent.address() as net.AddressInfo).port,
      extraYaml: 'limits:\n  startup_timeout: 500ms',
    });
    try {
      const token = await gw.issue();
      const view = await connectAsAgent(gw.pgConfig(token));
      // Bounded by the upstream's connect_timeout (5 s), not cut short by the agent's startup_timeout.
      expect(view.elapsedMs).toBeGreaterThan(4500);
      expect(view.elapsedMs).toBeLessThan(7000);
      // The agent logged in at once; what was slow is the upstream, so it must not be told to hurry.
      expect({ code: view.error?.code, hint: view.error?.hint }).toEqual({
        code: '08006',
        hint: expect.not.stringMatching(/authenticate promptly/),
      });
    } finally {
      await gw.close();
      for (const socket of held) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('an upstream that hangs up right after accepting gives 08006', async () => {
    const rude = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => rude.listen(0, '127.0.0.1', resolve));
    const gw = await startCustomGateway({
      user: db.users.scram.user,
      password: db.users.scram.password,
      port: (rude.address() as net.AddressInfo).port,
    });
    try {
      const token = await gw.issue();
      const view = await connectAsAgent(agentConfig(gw.port, token));
      expect(view.error?.code).toBe('08006');
      expect(view.elapsedMs).toBeLessThan(1500);
    } finally {
      await gw.close();
      await new Promise<void>((resolve) => rude.close(() => resolve()));
    }
  });
});
