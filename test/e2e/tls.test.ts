/**
 * TLS on both sides of the gateway. Agent side: verify-full and require work with the configured
 * certificate, a gateway without one answers SSLRequest with N, plaintext from non-loopback addresses
 * is refused unless allowed. Upstream side: verify-full (with the CA) and require work, a TLS-only
 * upstream user refuses `disable`, and the agent only sees 08006 while the log has the reason.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import tls from 'node:tls';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load-config.js';
import { type IssuedToken, issueToken } from '../../src/identity/issue-token.js';
import { type RunningGateway, startGateway } from '../../src/main.js';
import { createLogger } from '../../src/observability/logger.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { encodeRequestCode, encodeStartupMessage } from '../../src/wire/postgres/message-writer.js';
import { GSSENC_REQUEST_CODE, SSL_REQUEST_CODE } from '../../src/wire/postgres/protocol-constants.js';
import { type RealPostgres, startRealPostgres } from '../helpers/real-postgres.js';
import { startTestGateway, type TestGateway } from '../helpers/test-gateway.js';
import { generateTestCertificates, type TestCertificates } from '../helpers/tls-certs.js';

const run = promisify(execFile);

/** The first non-internal IPv4 address of this machine, if any: connecting to it is not loopback. */
const REMOTE_IPV4 = Object.values(os.networkInterfaces())
  .flat()
  .find((address) => address !== undefined && address.family === 'IPv4' && !address.internal)?.address;
const NO_REMOTE_IP = REMOTE_IPV4 === undefined;
const SKIP_NOTE = NO_REMOTE_IP
  ? ' [skipped: this machine has no non-loopback IPv4 address to connect from]'
  : '';

interface PsqlResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function psql(env: NodeJS.ProcessEnv, ...commands: string[]): Promise<PsqlResult> {
  const args = ['-w', '-X', '-At', ...commands.flatMap((c) => ['-c', c])];
  try {
    const { stdout, stderr } = await run('psql', args, { env, timeout: 20_000 });
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

async function pgRefusal(config: pg.ClientConfig): Promise<Error & Partial<pg.DatabaseError>> {
  const client = new pg.Client(config);
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (error) {
    return error as Error & Partial<pg.DatabaseError>;
  }
  await client.end();
  throw new Error('the gateway accepted a connection it should have refused');
}

/** Connects, runs `sql`, returns the rows and whether the agent-side connection was TLS. */
async function queryOnce(
  config: pg.ClientConfig,
  sql: string,
): Promise<{ rows: Record<string, unknown>[]; encrypted: boolean }> {
  const client = new pg.Client(config);
  await client.connect();
  try {
    const stream = (client as unknown as { connection: { stream: net.Socket } }).connection.stream;
    const encrypted = stream instanceof tls.TLSSocket && stream.encrypted === true;
    return { rows: (await client.query(sql)).rows, encrypted };
  } finally {
    await client.end();
  }
}

interface LogEntry {
  readonly msg?: string;
  readonly tokenId?: string;
  readonly tls?: boolean;
  readonly auth?: string;
  readonly detail?: string;
  readonly code?: string;
}

function parsedLogs(logs: readonly string[]): LogEntry[] {
  return logs.map((line) => JSON.parse(line) as LogEntry);
}

function sessionStarted(logs: readonly string[], tokenId: string): LogEntry | undefined {
  return parsedLogs(logs).find((entry) => entry.msg === 'session started' && entry.tokenId === tokenId);
}

/** A gateway built from YAML written here (the test helper always listens on 127.0.0.1). */
interface YamlGateway {
  readonly gateway: RunningGateway;
  readonly port: number;
  readonly logs: string[];
  issue(): Promise<IssuedToken>;
  close(): Promise<void>;
}

async function startGatewayFromYaml(
  yaml: string,
  baseDir: string,
  env: NodeJS.ProcessEnv,
): Promise<YamlGateway> {
  const config = parseConfigText(yaml, { baseDir, source: null, env });
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
    gateway,
    port: gateway.postgres.port,
    logs,
    issue: () =>
      issueToken(
        { store, config, now: Date.now },
        { role: 'reporting', subject: 'tls-e2e', reason: 'e2e test' },
      ),
    close: async () => {
      await gateway.close(1000);
      await store.close();
    },
  };
}

/** Sends `bytes` on a fresh connection and collects what comes back within `ms` (or until close). */
async function exchange(
  port: number,
  bytes: Buffer,
  ms: number,
): Promise<{ data: Buffer; closed: boolean; socket: net.Socket }> {
  const socket = net.connect({ host: '127.0.0.1', port });
  const chunks: Buffer[] = [];
  let closed = false;
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.on('error', () => {});
  const closing = new Promise<void>((resolve) =>
    socket.once('close', () => {
      closed = true;
      resolve();
    }),
  );
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  socket.write(bytes);
  await Promise.race([closing, new Promise((resolve) => setTimeout(resolve, ms))]);
  return { data: Buffer.concat(chunks), closed, socket };
}

describe('TLS between agent, gateway and upstream', () => {
  let db: RealPostgres;
  let certDir: string;
  let certs: TestCertificates;
  let tlsGw: TestGateway;
  let plainGw: TestGateway;

  beforeAll(async () => {
    certDir = await mkdtemp(path.join(os.tmpdir(), 'airlock-tls-e2e-'));
    [db, certs] = await Promise.all([startRealPostgres({ ssl: true }), generateTestCertificates(certDir)]);
    [tlsGw, plainGw] = await Promise.all([
      startTestGateway(db, { extraYaml: 'tls:\n  cert: server.crt\n  key: server.key', baseDir: certDir }),
      startTestGateway(db),
    ]);
  });
  afterAll(async () => {
    await Promise.all([tlsGw?.close(), plainGw?.close()]);
    await db?.stop();
    if (certDir) await rm(certDir, { recursive: true, force: true });
  });

  // ---- agent side ---------------------------------------------------------------------------------

  it('psql with sslmode=verify-full and the CA connects over TLS', async () => {
    const token = await tlsGw.issue();
    const result = await psql(
      { ...tlsGw.env(token), PGSSLMODE: 'verify-full', PGSSLROOTCERT: certs.caFile },
      '\\conninfo',
      'select 40 + 2',
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/SSL connection \(protocol: TLSv1\.[23]/);
    expect(result.stdout).toMatch(/\n42\n$/);
    expect(sessionStarted(tlsGw.logs, token.tokenId)?.tls).toBe(true);
  });

  it('psql with sslmode=verify-full fails against a CA that did not sign the gateway certificate', async () => {
    const token = await tlsGw.issue();
    // The upstream cluster's CA is a different CA.
    const result = await psql({
      ...tlsGw.env(token),
      PGSSLMODE: 'verify-full',
      PGSSLROOTCERT: db.tls!.caFile,
    });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/certificate verify failed/);
  });

  it('node-postgres with ssl { ca } (full verification) connects over TLS', async () => {
    const token = await tlsGw.issue();
    const { rows, encrypted } = await queryOnce(
      { ...tlsGw.pgConfig(token), ssl: { ca: certs.caPem } },
      'select current_database() as db',
    );
    expect(rows).toEqual([{ db: 'shop' }]);
    expect(encrypted).toBe(true);
    expect(sessionStarted(tlsGw.logs, token.tokenId)?.tls).toBe(true);
  });

  it('sslmode=require works with psql and node-postgres', async () => {
    const token = await tlsGw.issue();
    const result = await psql({ ...tlsGw.env(token), PGSSLMODE: 'require' }, '\\conninfo', 'select 1');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/SSL connection/);
    const { rows, encrypted } = await queryOnce(
      { ...tlsGw.pgConfig(token), ssl: { rejectUnauthorized: false } },
      'select 7 as seven',
    );
    expect(rows).toEqual([{ seven: 7 }]);
    expect(encrypted).toBe(true);
  });

  it('a TLS-enabled gateway still serves plaintext clients from loopback', async () => {
    const token = await tlsGw.issue();
    const { rows, encrypted } = await queryOnce(tlsGw.pgConfig(token), 'select 1 as one');
    expect(rows).toEqual([{ one: 1 }]);
    expect(encrypted).toBe(false);
  });

  it('a gateway without TLS answers SSLRequest with a single N and then serves the startup', async () => {
    const token = await plainGw.issue();
    const { data, closed, socket } = await exchange(plainGw.port, encodeRequestCode(SSL_REQUEST_CODE), 300);
    try {
      expect(closed).toBe(false);
      expect(data.toString('latin1')).toBe('N');
      const next = new Promise<Buffer>((resolve) => socket.once('data', resolve));
      socket.write(encodeStartupMessage({ user: token.tokenId, database: 'shop' }));
      const answer = await next;
      // AuthenticationSASL: the handshake continues in plaintext.
      expect(String.fromCharCode(answer[0]!)).toBe('R');
      expect(answer.readInt32BE(5)).toBe(10);
    } finally {
      socket.destroy();
    }
  });

  it('a GSSENCRequest is declined with N and a following SSLRequest still upgrades to TLS', async () => {
    const token = await tlsGw.issue();
    const { data, closed, socket } = await exchange(tlsGw.port, encodeRequestCode(GSSENC_REQUEST_CODE), 200);
    try {
      expect(closed).toBe(false);
      expect(data.toString('latin1')).toBe('N');
      const answer = new Promise<Buffer>((resolve) => socket.once('data', resolve));
      socket.write(encodeRequestCode(SSL_REQUEST_CODE));
      expect((await answer).toString('latin1')).toBe('S');
      socket.removeAllListeners('data');
      const secure = tls.connect({ socket, ca: certs.caPem, servername: 'localhost' });
      await new Promise<void>((resolve, reject) => {
        secure.once('secureConnect', resolve);
        secure.once('error', reject);
      });
      const first = new Promise<Buffer>((resolve) => secure.once('data', resolve));
      secure.write(encodeStartupMessage({ user: token.tokenId, database: 'shop' }));
      const reply = await first;
      // AuthenticationSASL over the encrypted channel.
      expect(String.fromCharCode(reply[0]!)).toBe('R');
      expect(reply.readInt32BE(5)).toBe(10);
      secure.destroy();
    } finally {
      socket.destroy();
    }
  });

  it('psql sslmode=prefer falls back to plaintext on a gateway without TLS', async () => {
    const token = await plainGw.issue();
    const result = await psql({ ...plainGw.env(token), PGSSLMODE: 'prefer' }, '\\conninfo', 'select 1');
    expect(result.code).toBe(0);
    expect(result.stdout).not.toMatch(/SSL connection/);
    expect(result.stdout).toMatch(/\n1\n$/);
  });

  it('sslmode=require against a gateway without TLS fails with a clear error', async () => {
    const token = await plainGw.issue();
    const result = await psql({ ...plainGw.env(token), PGSSLMODE: 'require' });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/server does not support SSL, but SSL was required/);
    const error = await pgRefusal({ ...plainGw.pgConfig(token), ssl: { rejectUnauthorized: false } });
    expect(error.message).toMatch(/does not support SSL/);
  });

  // ---- upstream side ------------------------------------------------------------------------------

  it('upstream tls { mode: verify-full, ca } reaches a hostssl-only user', async () => {
    const gw = await startTestGateway(db, {
      upstreamUser: 'tls',
      upstreamTls: `{ mode: verify-full, ca: "${db.tls!.caFile}" }`,
    });
    try {
      const token = await gw.issue();
      const { rows } = await queryOnce(
        gw.pgConfig(token),
        'select current_user as who, (select ssl from pg_stat_ssl where pid = pg_backend_pid()) as ssl',
      );
      expect(rows).toEqual([{ who: db.users.tls.user, ssl: true }]);
    } finally {
      await gw.close();
    }
  });

  it('upstream tls: require works (encrypted, not verified)', async () => {
    const gw = await startTestGateway(db, { upstreamUser: 'tls', upstreamTls: 'require' });
    try {
      const token = await gw.issue();
      const { rows } = await queryOnce(
        gw.pgConfig(token),
        'select current_user as who, (select ssl from pg_stat_ssl where pid = pg_backend_pid()) as ssl',
      );
      expect(rows).toEqual([{ who: db.users.tls.user, ssl: true }]);
    } finally {
      await gw.close();
    }
  });

  it('upstream tls: disable against the hostssl-only user gives the agent 08006, and the log the reason', async () => {
    const gw = await startTestGateway(db, { upstreamUser: 'tls', upstreamTls: 'disable' });
    try {
      const token = await gw.issue();
      const error = await pgRefusal(gw.pgConfig(token));
      expect(error.severity).toBe('FATAL');
      expect(error.code).toBe('08006');
      expect(error.message).toBe('upstream "shop" is unavailable');
      expect(error.hint).toMatch(/gateway log/);
      // The upstream's own words stay in the gateway log.
      expect(error.message).not.toMatch(/pg_hba|encryption|airlock_tls/);
      const logged = parsedLogs(gw.logs).find((entry) => entry.msg === 'upstream unavailable');
      expect(logged?.detail).toMatch(/pg_hba\.conf rejects connection .*no encryption/);
      const psqlResult = await psql(gw.env(token));
      expect(psqlResult.stderr).toMatch(/FATAL: {2}upstream "shop" is unavailable/);
    } finally {
      await gw.close();
    }
  });

  it('upstream tls: verify-full without the CA (system roots) refuses the self-signed upstream', async () => {
    const gw = await startTestGateway(db, { upstreamUser: 'tls', upstreamTls: 'verify-full' });
    try {
      const token = await gw.issue();
      const error = await pgRefusal(gw.pgConfig(token));
      expect(error.code).toBe('08006');
      const logged = parsedLogs(gw.logs).find((entry) => entry.msg === 'upstream unavailable');
      expect(logged?.detail).toMatch(/certificate/);
    } finally {
      await gw.close();
    }
  });

  // ---- non-loopback agents ------------------------------------------------------------------------

  /** A gateway listening on every interface (so a non-loopback address reaches it), with TLS available. */
  function wildcardYaml(options: { allowPlaintextRemote?: boolean; cleartextAuth?: boolean } = {}): string {
    return [
      'listen:',
      '  postgres: 0.0.0.0:0',
      `  allow_plaintext_remote: ${options.allowPlaintextRemote === true}`,
      'tls:',
      '  cert: server.crt',
      '  key: server.key',
      'store: "sqlite::memory:"',
      'upstreams:',
      '  shop:',
      `    url: postgres://${db.users.scram.user}@127.0.0.1:${db.port}/shop`,
      // biome-ignore lint/suspicious/noTemplateCurlyInString: ${VAR} is the config loader's env substitution.
      '    password: ${UPSTREAM_PASSWORD}',
      '    tls: disable',
      'roles:',
      '  reporting:',
      '    upstream: shop',
      ...(options.cleartextAuth ? ['auth:', '  method: password'] : []),
      'log:',
      '  level: debug',
    ].join('\n');
  }

  it.skipIf(NO_REMOTE_IP)(
    `plaintext from a non-loopback address is refused with 28000; TLS and loopback are served${SKIP_NOTE}`,
    async () => {
      const gw = await startGatewayFromYaml(wildcardYaml(), certDir, {
        UPSTREAM_PASSWORD: db.users.scram.password,
      });
      try {
        const token = await gw.issue();
        const remote = {
          host: REMOTE_IPV4!,
          port: gw.port,
          user: token.tokenId,
          password: token.secret,
          database: 'shop',
        };
        const refused = await pgRefusal(remote);
        expect(refused.severity).toBe('FATAL');
        expect(refused.code).toBe('28000');
        expect(refused.message).toBe('the gateway requires TLS for connections from non-loopback addresses');
        expect(refused.hint).toMatch(/sslmode=require/);

        const viaPsql = await psql({
          ...db.psqlEnv(),
          PGHOST: REMOTE_IPV4!,
          PGPORT: String(gw.port),
          PGUSER: token.tokenId,
          PGPASSWORD: token.secret,
          PGDATABASE: 'shop',
          PGSSLMODE: 'disable',
        });
        expect(viaPsql.code).not.toBe(0);
        expect(viaPsql.stderr).toMatch(
          /FATAL: {2}the gateway requires TLS for connections from non-loopback addresses/,
        );
        expect(viaPsql.stderr).toMatch(/HINT: {2}Connect with sslmode=require/);

        const overTls = await queryOnce({ ...remote, ssl: { rejectUnauthorized: false } }, 'select 1 as one');
        expect(overTls).toEqual({ rows: [{ one: 1 }], encrypted: true });

        const loopback = await queryOnce({ ...remote, host: '127.0.0.1' }, 'select 2 as two');
        expect(loopback).toEqual({ rows: [{ two: 2 }], encrypted: false });
      } finally {
        await gw.close();
      }
    },
  );

  it.skipIf(NO_REMOTE_IP)(
    `listen.allow_plaintext_remote: true serves plaintext remote agents, never with cleartext auth${SKIP_NOTE}`,
    async () => {
      const gw = await startGatewayFromYaml(
        wildcardYaml({ allowPlaintextRemote: true, cleartextAuth: true }),
        certDir,
        { UPSTREAM_PASSWORD: db.users.scram.password },
      );
      try {
        expect(gw.gateway.postgres.host).toBe('0.0.0.0');
        const token = await gw.issue();
        const remote = {
          host: REMOTE_IPV4!,
          port: gw.port,
          user: token.tokenId,
          password: token.secret,
          database: 'shop',
        };
        const asked: string[] = [];
        const client = new pg.Client(remote);
        client.connection.on('authenticationCleartextPassword', () => asked.push('cleartext'));
        client.connection.on('authenticationSASL', () => asked.push('sasl'));
        await client.connect();
        try {
          expect((await client.query('select 3 as three')).rows).toEqual([{ three: 3 }]);
        } finally {
          await client.end();
        }
        // auth.method password is cleartext only over TLS or loopback: a plaintext remote agent gets SCRAM.
        expect(asked).toEqual(['sasl']);
        const overTls = new pg.Client({ ...remote, ssl: { rejectUnauthorized: false } });
        const askedTls: string[] = [];
        overTls.connection.on('authenticationCleartextPassword', () => askedTls.push('cleartext'));
        overTls.connection.on('authenticationSASL', () => askedTls.push('sasl'));
        await overTls.connect();
        await overTls.end();
        expect(askedTls).toEqual(['cleartext']);
      } finally {
        await gw.close();
      }
    },
  );
});
