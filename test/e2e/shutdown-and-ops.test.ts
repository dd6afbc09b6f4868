/**
 * Operating the gateway: /healthz and /metrics over real HTTP, graceful shutdown as agents see it
 * (57P01 after the grace, running statements finish, new connections refused), and `airlock serve`
 * as a real process: SIGTERM exits 0 and leaves nothing behind; a bad config exits 2 naming the key.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveConfigHead } from '../helpers/airlock-serve.js';
import { acceptsTcp, cleanEnv, type RealPostgres, startRealPostgres } from '../helpers/real-postgres.js';
import { startTestGateway } from '../helpers/test-gateway.js';

const run = promisify(execFile);
const REPO_ROOT = path.resolve(import.meta.dirname, '../..');
const CLI = ['--import', 'tsx', path.join(REPO_ROOT, 'src/cli/main.ts')];

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
    }),
  ]);
}

/** A connected client and a promise of the first error the gateway pushes outside a query. */
async function connectWatching(
  config: pg.ClientConfig,
): Promise<{ client: pg.Client; pushed: Promise<pg.DatabaseError> }> {
  const client = new pg.Client(config);
  const pushed = new Promise<pg.DatabaseError>((resolve) => {
    client.on('error', (error) => resolve(error as pg.DatabaseError));
  });
  await client.connect();
  return { client, pushed };
}

/** Parses Prometheus text into `name{labels}` → value. */
function parseMetrics(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    values.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return values;
}

async function metrics(httpPort: number): Promise<Map<string, number>> {
  const response = await fetch(`http://127.0.0.1:${httpPort}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
  return parseMetrics(await response.text());
}

function metric(values: Map<string, number>, key: string): number {
  return values.get(key) ?? 0;
}

describe('operations: health, metrics, shutdown and the serve command', () => {
  let db: RealPostgres;
  let admin: pg.Client;
  let workDir: string;
  const children: ChildProcess[] = [];

  async function upstreamBackends(): Promise<number> {
    const result = await admin.query<{ n: number }>(
      "select count(*)::int as n from pg_stat_activity where usename like 'airlock\\_%'",
    );
    return result.rows[0]?.n ?? -1;
  }

  beforeAll(async () => {
    [db, workDir] = await Promise.all([
      startRealPostgres(),
      mkdtemp(path.join(os.tmpdir(), 'airlock-ops-e2e-')),
    ]);
    admin = new pg.Client({ host: db.host, port: db.port, user: db.superuser, database: 'shop' });
    await admin.connect();
  });
  afterAll(async () => {
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
        process.kill(child.pid, 'SIGKILL');
      }
    }
    await admin?.end();
    await db?.stop();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  // ---- HTTP API -------------------------------------------------------------------------------------

  it('GET /healthz answers 200 {status: ok} with the live session count', async () => {
    const gw = await startTestGateway(db);
    try {
      const empty = await fetch(`http://127.0.0.1:${gw.httpPort}/healthz`);
      expect(empty.status).toBe(200);
      expect(await empty.json()).toEqual({ status: 'ok', sessions: 0 });
      const token = await gw.issue();
      const client = new pg.Client(gw.pgConfig(token));
      await client.connect();
      try {
        const busy = await fetch(`http://127.0.0.1:${gw.httpPort}/healthz`);
        expect(await busy.json()).toEqual({ status: 'ok', sessions: 1 });
      } finally {
        await client.end();
      }
      const missing = await fetch(`http://127.0.0.1:${gw.httpPort}/no-such-page`);
      expect(missing.status).toBe(404);
    } finally {
      await gw.close();
    }
  });

  it('GET /metrics counts sessions, statements, bytes and auth failures', async () => {
    const gw = await startTestGateway(db);
    try {
      const before = await metrics(gw.httpPort);
      const token = await gw.issue();
      const client = new pg.Client(gw.pgConfig(token));
      await client.connect();
      try {
        for (let i = 0; i < 5; i++) await client.query('select $1::int as i', [i]);
        await client.query('select generate_series(1, 1000)');
        await expect(client.query('select * from no_such_table')).rejects.toThrow(/does not exist/);
        // node-postgres rejects at the ErrorResponse; the gateway counts the statement at the
        // ReadyForQuery behind it, which may arrive in a later packet when the machine is busy.
        await expect
          .poll(async () => metric(await metrics(gw.httpPort), 'airlock_statements_total'), { timeout: 2000 })
          .toBe(metric(before, 'airlock_statements_total') + 7);
        const during = await metrics(gw.httpPort);
        expect(metric(during, 'airlock_sessions_active')).toBe(1);
        expect(
          metric(during, 'airlock_sessions_total{outcome="authenticated"}') -
            metric(before, 'airlock_sessions_total{outcome="authenticated"}'),
        ).toBe(1);
        expect(metric(during, 'airlock_statements_total') - metric(before, 'airlock_statements_total')).toBe(
          7,
        );
        expect(metric(during, 'airlock_statement_duration_seconds_count')).toBe(
          metric(during, 'airlock_statements_total'),
        );
        expect(metric(during, 'airlock_upstream_errors_total')).toBeGreaterThanOrEqual(1);
        expect(metric(during, 'airlock_bytes_total{direction="from_agent"}')).toBeGreaterThan(100);
        // 1000 rows came back.
        expect(metric(during, 'airlock_bytes_total{direction="to_agent"}')).toBeGreaterThan(10_000);
      } finally {
        await client.end();
      }
      const refused = new pg.Client({ ...gw.pgConfig(token), password: 'airlock_wrong' });
      await expect(refused.connect()).rejects.toMatchObject({ code: '28P01' });
      const after = await metrics(gw.httpPort);
      await expect
        .poll(async () => metric(await metrics(gw.httpPort), 'airlock_sessions_active'), { timeout: 2000 })
        .toBe(0);
      expect(metric(after, 'airlock_auth_failures_total{reason="28P01"}')).toBe(1);
      expect(metric(after, 'airlock_sessions_total{outcome="rejected"}')).toBe(1);
    } finally {
      await gw.close();
    }
  });

  // ---- graceful shutdown ----------------------------------------------------------------------------

  it('close(grace) ends an idle session with FATAL 57P01 once the grace is over', async () => {
    const gw = await startTestGateway(db);
    const token = await gw.issue();
    const { client, pushed } = await connectWatching(gw.pgConfig(token));
    try {
      await client.query('select 1');
      const started = Date.now();
      const closing = gw.close(600);
      // While draining, health checks fail so load balancers move away.
      await sleep(100);
      const draining = await fetch(`http://127.0.0.1:${gw.httpPort}/healthz`);
      expect(draining.status).toBe(503);
      expect(await draining.json()).toMatchObject({ status: 'draining', sessions: 1 });
      const error = await withTimeout(pushed, 5000, '57P01 after the grace');
      const waited = Date.now() - started;
      expect(error.severity).toBe('FATAL');
      expect(error.code).toBe('57P01');
      expect(error.message).toBe('the gateway is shutting down');
      expect(error.hint).toMatch(/Reconnect in a moment/);
      expect(waited).toBeGreaterThanOrEqual(550);
      expect(waited).toBeLessThan(3000);
      await withTimeout(closing, 5000, 'close() resolving');
      await expect.poll(upstreamBackends, { timeout: 3000 }).toBe(0);
    } finally {
      await client.end().catch(() => {});
      await gw.close();
    }
  });

  it('a statement running at shutdown completes within the grace, then close() returns early', async () => {
    const gw = await startTestGateway(db);
    const token = await gw.issue();
    const { client, pushed } = await connectWatching(gw.pgConfig(token));
    let pushedError: pg.DatabaseError | null = null;
    void pushed.then((error) => {
      pushedError = error;
    });
    try {
      const query = client.query('select pg_sleep(0.5), 42 as answer');
      await sleep(50);
      const started = Date.now();
      const closing = gw.close(5000);
      const result = await query;
      expect(result.rows[0]).toMatchObject({ answer: 42 });
      expect(pushedError).toBeNull();
      await client.end();
      await withTimeout(closing, 3000, 'close() after the last session left');
      expect(Date.now() - started).toBeLessThan(3000);
    } finally {
      await client.end().catch(() => {});
      await gw.close();
    }
  });

  it('a statement still running when the grace ends is cancelled and the session gets 57P01', async () => {
    const gw = await startTestGateway(db);
    const token = await gw.issue();
    const { client } = await connectWatching(gw.pgConfig(token));
    try {
      const query = client.query('select pg_sleep(30)').then(
        () => null,
        (error: pg.DatabaseError) => error,
      );
      await sleep(50);
      const closing = gw.close(300);
      // As with pg_terminate_backend: the FATAL replaces the statement's result, so pg hands it to the query.
      const fatal = await withTimeout(query, 5000, '57P01 after the grace');
      expect(fatal?.code).toBe('57P01');

      await withTimeout(closing, 5000, 'close() resolving');
      await expect.poll(upstreamBackends, { timeout: 3000 }).toBe(0);
    } finally {
      await client.end().catch(() => {});
      await gw.close();
    }
  });

  it('new connections are refused while the gateway shuts down', async () => {
    const gw = await startTestGateway(db);
    const token = await gw.issue();
    const { client } = await connectWatching(gw.pgConfig(token));
    try {
      const closing = gw.close(1500);
      await sleep(50);
      const late = new pg.Client(gw.pgConfig(token));
      late.on('error', () => {});
      const error = await late.connect().then(
        () => null,
        (e: Error & { code?: string }) => e,
      );
      await late.end().catch(() => {});
      expect(error).not.toBeNull();
      // Either the listener is gone (connection refused) or the gateway says it is shutting down.
      expect(['ECONNREFUSED', '57P01']).toContain(error?.code);
      const viaPsql = await run('psql', ['-w', '-X', '-c', 'select 1'], { env: gw.env(token) }).then(
        () => '',
        (failure: { stderr?: string }) => failure.stderr ?? '',
      );
      expect(viaPsql).toMatch(/Connection refused|the gateway is shutting down/);
      // The session that was already there still works during the grace.
      expect((await client.query('select 5 as five')).rows).toEqual([{ five: 5 }]);
      await client.end();
      await withTimeout(closing, 3000, 'close() after the last session left');
    } finally {
      await client.end().catch(() => {});
      await gw.close();
    }
  });

  it('close(grace) is bounded by the grace even with a connection still in its startup phase', async () => {
    // startup_timeout well above the grace: shutdown must not wait for it.
    const gw = await startTestGateway(db, { extraYaml: 'limits:\n  startup_timeout: 4s' });
    const silent = net.connect({ host: '127.0.0.1', port: gw.port });
    const received: Buffer[] = [];
    silent.on('data', (chunk: Buffer) => received.push(chunk));
    silent.on('error', () => {});
    const silentClosed = new Promise<number>((resolve) => silent.once('close', () => resolve(Date.now())));
    await new Promise<void>((resolve) => silent.once('connect', () => resolve()));
    try {
      const started = Date.now();
      await gw.close(300);
      const took = Date.now() - started;
      const closedAt = await withTimeout(silentClosed, 5000, 'the idle pre-login connection closing');
      expect(took, 'close(300) took this many ms').toBeLessThan(1800);
      expect(took).toBeGreaterThanOrEqual(250);
      expect(closedAt - started, 'the pre-login connection closed this many ms into close()').toBeLessThan(
        1800,
      );
      const data = Buffer.concat(received);
      if (data.length > 0) expect(data.toString('latin1')).toContain('C57P01');
    } finally {
      silent.destroy();
      await gw.close();
    }
  }, 15_000);

  it('a login that completes after shutdown began is refused with 57P01', async () => {
    const gw = await startTestGateway(db);
    const token = await gw.issue();
    const holder = await connectWatching(gw.pgConfig(token));
    // Accepted before shutdown, authenticating (slowly) while it starts.
    const late = new pg.Client(gw.pgConfig(token));
    late.on('error', () => {});
    const stream = (late as unknown as { connection: { stream: net.Socket } }).connection.stream;
    let closing: Promise<void> | null = null;
    stream.once('data', () => {
      // The AuthenticationSASL request has arrived: begin shutdown before the client answers it.
      stream.pause();
      closing = gw.close(2000);
      setTimeout(() => stream.resume(), 100);
    });
    try {
      const error = await late.connect().then(
        () => null,
        (e: pg.DatabaseError) => e,
      );
      expect(error?.code).toBe('57P01');
      expect(error?.message).toBe('the gateway is shutting down');
      await holder.client.end();
      await withTimeout(closing ?? Promise.resolve(), 5000, 'close() resolving');
    } finally {
      await late.end().catch(() => {});
      await holder.client.end().catch(() => {});
      await gw.close();
    }
  });

  // ---- airlock serve as a process -------------------------------------------------------------------

  function serveYaml(extra = ''): string {
    return [
      ...serveConfigHead(db),
      'roles:',
      '  reporting:',
      '    upstream: shop',
      'shutdown:',
      '  grace: 500ms',
      'log:',
      '  level: info',
      extra,
    ].join('\n');
  }

  function cliEnv(): NodeJS.ProcessEnv {
    return { ...cleanEnv(), SHOP_DB_PASSWORD: db.users.scram.password, AIRLOCK_DEBUG: '' };
  }

  it('`airlock serve` runs as a process, serves agents, and on SIGTERM exits 0 leaving nothing behind', async () => {
    const dir = await mkdtemp(path.join(workDir, 'serve-'));
    const configPath = path.join(dir, 'airlock.yaml');
    await writeFile(configPath, serveYaml());
    const child = spawn(process.execPath, [...CLI, 'serve', '--config', configPath], {
      cwd: REPO_ROOT,
      env: cliEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    const stdoutLines: string[] = [];
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    const ready = new Promise<{ postgres: { port: number }; http: { port: number } }>((resolve, reject) => {
      let buffered = '';
      child.stdout.on('data', (chunk: Buffer) => {
        buffered += chunk.toString('utf8');
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        for (const line of lines) {
          stdoutLines.push(line);
          const entry = JSON.parse(line) as {
            msg?: string;
            postgres?: { port: number };
            http?: { port: number };
          };
          if (entry.msg === 'airlock gateway ready' && entry.postgres && entry.http) {
            resolve({ postgres: entry.postgres, http: entry.http });
          }
        }
      });
      void exited.then(({ code }) => reject(new Error(`airlock serve exited early (${code}): ${stderr}`)));
    });
    const ports = await withTimeout(ready, 20_000, 'airlock serve ready');

    const issued = await run(
      process.execPath,
      [
        ...CLI,
        'token',
        'issue',
        '--config',
        configPath,
        '--role',
        'reporting',
        '--subject',
        'ops-e2e',
        '--reason',
        'e2e test',
        '--json',
      ],
      { cwd: REPO_ROOT, env: cliEnv() },
    );
    const info = JSON.parse(issued.stdout) as { user: string; password: string; database: string };
    const { client, pushed } = await connectWatching({
      host: '127.0.0.1',
      port: ports.postgres.port,
      user: info.user,
      password: info.password,
      database: info.database,
    });
    expect((await client.query('select current_user as who')).rows).toEqual([{ who: db.users.scram.user }]);
    const health = await fetch(`http://127.0.0.1:${ports.http.port}/healthz`);
    expect(await health.json()).toEqual({ status: 'ok', sessions: 1 });

    const signalled = Date.now();
    child.kill('SIGTERM');
    const fatal = await withTimeout(pushed, 5000, 'the open session ending at shutdown');
    expect(fatal.code).toBe('57P01');
    await client.end().catch(() => {});
    const exit = await withTimeout(exited, 10_000, 'airlock serve exiting after SIGTERM');
    expect({ ...exit, stderr }).toEqual({ code: 0, signal: null, stderr: '' });
    expect(Date.now() - signalled).toBeLessThan(5000);
    expect(stdoutLines.some((line) => line.includes('"gateway stopped"'))).toBe(true);

    // Nothing left: the process, its listeners and its upstream connections are gone.
    expect(() => process.kill(child.pid!, 0)).toThrow();
    expect(await acceptsTcp(ports.postgres.port)).toBe(false);
    expect(await acceptsTcp(ports.http.port)).toBe(false);
    await expect.poll(upstreamBackends, { timeout: 3000 }).toBe(0);

    // The audit trail of the run: start-up, the CLI's token, the session; all signed at shutdown.
    const exported = await run(process.execPath, [...CLI, 'audit', 'export', '--config', configPath], {
      cwd: REPO_ROOT,
      env: cliEnv(),
    });
    const events = exported.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string; kind?: string; what?: Record<string, unknown> })
      .filter((line) => line.type === 'event');
    expect(events.map((e) => e.kind)).toEqual([
      'config.loaded',
      'token.issued',
      'session.started',
      'statement.decided',
      'statement.finished',
      'session.ended',
    ]);
    expect(events[0]?.what?.policySha256).toMatch(/^[0-9a-f]{64}$/);
    expect(exported.stdout).not.toContain(db.users.scram.password);
    expect(events[3]?.what).toMatchObject({ sql: 'select current_user as who', decision: 'allow' });
    expect(events[4]?.what).toMatchObject({ outcome: 'ok', commandTags: ['SELECT 1'], rows: 1 });
    expect(events[5]?.what).toMatchObject({ reason: 'ended-by-gateway', sqlState: '57P01' });
    const verified = await run(process.execPath, [...CLI, 'audit', 'verify', '--config', configPath], {
      cwd: REPO_ROOT,
      env: cliEnv(),
    });
    expect(verified.stdout).toMatch(/^verified 6 events of ".+", last checkpoint at seq 6\n$/);
  }, 60_000);

  it.each([
    {
      name: 'an invalid value',
      yaml: () => serveYaml('limits:\n  max_connections: 0'),
      key: 'limits.max_connections',
    },
    {
      name: 'an unknown key',
      yaml: () => serveYaml().replace('  http: 127.0.0.1:0', '  htp: 127.0.0.1:0'),
      key: 'listen.htp',
    },
    {
      name: 'a role naming an undefined upstream',
      yaml: () => serveYaml().replace('    upstream: shop', '    upstream: warehouse'),
      key: 'roles.reporting.upstream',
    },
  ])(
    '`airlock serve` with $name in the config exits 2 naming $key',
    async ({ yaml, key }) => {
      const dir = await mkdtemp(path.join(workDir, 'bad-'));
      const configPath = path.join(dir, 'airlock.yaml');
      await writeFile(configPath, yaml());
      const child = spawn(process.execPath, [...CLI, 'serve', '--config', configPath], {
        cwd: REPO_ROOT,
        env: cliEnv(),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.push(child);
      let stderr = '';
      let stdout = '';
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString('utf8');
      });
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString('utf8');
      });
      const code = await withTimeout(
        new Promise<number | null>((resolve) => child.once('exit', (exitCode) => resolve(exitCode))),
        20_000,
        'airlock serve exiting on a bad config',
      );
      expect({ code, stdout }).toEqual({ code: 2, stdout: '' });
      expect(stderr.startsWith('airlock: ')).toBe(true);
      expect(stderr).toContain(`${key}: `);
      // No stack trace for a mistake the user can fix in the file.
      expect(stderr).not.toMatch(/\n\s+at /);
      expect(stderr.includes(db.users.scram.password)).toBe(false);
    },
    30_000,
  );
});
