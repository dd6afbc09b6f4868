/** Starts a throwaway PostgreSQL cluster (temp dir, free 127.0.0.1 port, one user per auth method) for e2e tests and benches. */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  accessSync,
  closeSync,
  constants,
  existsSync,
  openSync,
  readFileSync,
  rmSync,
  statfsSync,
  statSync,
} from 'node:fs';
import { appendFile, chown, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { generateTestCertificates } from './tls-certs.js';

const execFileAsync = promisify(execFile);

const HOST = '127.0.0.1';
const SUPERUSER = 'postgres';
const DATABASE = 'shop';
const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;
const PORT_ATTEMPTS = 5;
const DEBIAN_BIN_DIR = '/usr/lib/postgresql/15/bin';
const RAM_DISK = '/dev/shm';
const RAM_DISK_MIN_FREE_BYTES = 2 * 1024 ** 3;

/** A login role and its password. */
export interface PasswordUser {
  readonly user: string;
  readonly password: string;
}

/** One login role per authentication method pg_hba.conf asks for. */
export interface RealPostgresUsers {
  /** scram-sha-256 */
  readonly scram: PasswordUser;
  /** md5, with an md5 verifier stored, so the md5 exchange really runs */
  readonly md5: PasswordUser;
  /** trust: no password */
  readonly trust: { readonly user: string };
  /** `password`: the client sends the password in cleartext */
  readonly cleartext: PasswordUser;
  /** scram-sha-256 over TLS only (hostssl); refused without TLS, and always refused when `ssl` is off */
  readonly tls: PasswordUser;
}

/** A running cluster; `stop()` (or `await using`) shuts it down and deletes its directory. */
export interface RealPostgres {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** Trusted over TCP from 127.0.0.1 only. */
  readonly superuser: 'postgres';
  readonly dataDir: string;
  /** Present when started with `ssl: true`: the CA that signed the server certificate. */
  readonly tls?: { readonly caPem: string; readonly caFile: string };
  readonly users: RealPostgresUsers;
  /** Database every user may use and create tables in (public schema). */
  readonly database: 'shop';
  /** postgresql:// URL for `user` (default database: shop). */
  url(user: string, password?: string, db?: string): string;
  /** Environment for psql/pgbench: PG* variables of this process replaced by this cluster's. */
  psqlEnv(user?: string, password?: string, db?: string): NodeJS.ProcessEnv;
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Options for {@link startRealPostgres}. */
export interface RealPostgresOptions {
  /** Turn on TLS with a freshly generated CA and server certificate (CN=localhost, IP 127.0.0.1). */
  readonly ssl?: boolean;
  /** Extra postgresql.conf settings, e.g. a larger shared_buffers for benchmarks. */
  readonly settings?: Readonly<Record<string, string | number>>;
}

interface LiveCluster {
  readonly root: string;
  readonly dataDir: string;
  postmaster: ChildProcess | null;
  stopping: Promise<void> | null;
}

const liveClusters = new Set<LiveCluster>();
let exitHooksInstalled = false;
let binDirCache: string | undefined;
let ownerCache: { uid: number; gid: number } | undefined;

function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** Directory holding initdb, postgres and pg_ctl: `pg_config --bindir`, else Debian's PostgreSQL 15 folder. */
export function findPostgresBinDir(): string {
  if (binDirCache !== undefined) return binDirCache;
  const candidates: string[] = [];
  try {
    candidates.push(execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim());
  } catch {
    // No pg_config on PATH: fall through to the Debian location.
  }
  candidates.push(DEBIAN_BIN_DIR);
  const found = candidates.find((dir) => existsSync(path.join(dir, 'initdb')));
  if (found === undefined) {
    throw new Error(
      'PostgreSQL server binaries (initdb, postgres, pg_ctl) not found via `pg_config --bindir` or in ' +
        `${DEBIAN_BIN_DIR}. Install them with \`apt-get install -y postgresql\`.`,
    );
  }
  binDirCache = found;
  return found;
}

/** Full path of a PostgreSQL program (pg_isready, psql, pgbench …): the server bin dir, then PATH; null if absent. */
export function findPostgresProgram(name: string): string | null {
  const dirs = [findPostgresBinDir(), ...(process.env.PATH ?? '').split(path.delimiter)];
  for (const dir of dirs) {
    if (dir !== '' && existsSync(path.join(dir, name))) return path.join(dir, name);
  }
  return null;
}

/** Wraps a command to run as the `postgres` OS user when we are root (initdb, postgres, pgbouncer refuse root). */
export function asPostgresUser(file: string, args: readonly string[]): { file: string; args: string[] } {
  return isRoot()
    ? { file: 'runuser', args: ['-u', 'postgres', '--', file, ...args] }
    : { file, args: [...args] };
}

/** uid/gid to hand files over to when we are root (the server runs as `postgres`); null otherwise. */
export function postgresOwner(): { uid: number; gid: number } | null {
  if (!isRoot()) return null;
  if (ownerCache !== undefined) return ownerCache;
  try {
    const uid = Number(execFileSync('id', ['-u', SUPERUSER], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', SUPERUSER], { encoding: 'utf8' }).trim());
    ownerCache = { uid, gid };
    return ownerCache;
  } catch {
    throw new Error(
      'Running as root, but there is no `postgres` OS user to run the server as. ' +
        'Install PostgreSQL with `apt-get install -y postgresql` (it creates that user).',
    );
  }
}

/**
 * Where clusters live: $AIRLOCK_PG_TMPDIR if set, else RAM-backed /dev/shm when it has 2 GiB free
 * (creating a cluster's ~1300 files on a VM disk costs about a second, on tmpfs a twentieth), else
 * os.tmpdir().
 */
export function clusterScratchDir(): string {
  const configured = process.env.AIRLOCK_PG_TMPDIR;
  if (configured) return configured;
  try {
    accessSync(RAM_DISK, constants.W_OK);
    const stats = statfsSync(RAM_DISK);
    if (stats.bavail * stats.bsize >= RAM_DISK_MIN_FREE_BYTES) return RAM_DISK;
  } catch {
    // No usable /dev/shm (macOS, small containers): the ordinary temp dir works, only slower.
  }
  return os.tmpdir();
}

/** This process's environment without PG* variables, so a developer's PGHOST or PGSSLMODE cannot leak in. */
export function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('PG')));
}

/** A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read it, close). */
export function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not read the port of a listening socket'));
      });
    });
  });
}

/** Resolves true when something on 127.0.0.1:`port` accepts a TCP connection. */
export function acceptsTcp(port: number, host = HOST): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

async function runCommand(file: string, args: readonly string[], cwd: string): Promise<string> {
  try {
    const { stdout } = await execFileAsync(file, args, { cwd, env: cleanEnv(), encoding: 'utf8' });
    return stdout;
  } catch (error) {
    const { stderr, stdout } = error as { stderr?: string; stdout?: string };
    const detail = (stderr || stdout || String(error)).trim();
    throw new Error(`\`${[file, ...args].join(' ')}\` failed: ${detail}`);
  }
}

async function logTail(logFile: string, lines = 30): Promise<string> {
  const text = await readFile(logFile, 'utf8').catch(() => '(no server log)');
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

function quoteSetting(value: string | number): string {
  return `'${String(value).replaceAll("'", "''")}'`;
}

function quoteLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

function hbaConf(ssl: boolean): string {
  const lines = [
    '# Written by test/helpers/real-postgres.ts. First matching line wins.',
    `local     all  ${SUPERUSER}       trust`,
    `host      all  ${SUPERUSER}       127.0.0.1/32  trust`,
    'hostnossl all  airlock_tls    127.0.0.1/32  reject',
    ...(ssl ? ['hostssl   all  airlock_tls    127.0.0.1/32  scram-sha-256'] : []),
    'host      all  airlock_scram  127.0.0.1/32  scram-sha-256',
    'host      all  airlock_md5    127.0.0.1/32  md5',
    'host      all  airlock_trust  127.0.0.1/32  trust',
    'host      all  airlock_clear  127.0.0.1/32  password',
  ];
  return `${lines.join('\n')}\n`;
}

function serverSettings(
  root: string,
  port: number,
  tlsFiles: { certFile: string; keyFile: string } | null,
  extra: Readonly<Record<string, string | number>>,
): string {
  const settings: Record<string, string | number> = {
    listen_addresses: HOST,
    port,
    unix_socket_directories: root,
    max_connections: 100,
    shared_buffers: '32MB',
    // Throwaway data: durability only costs time here.
    fsync: 'off',
    synchronous_commit: 'off',
    full_page_writes: 'off',
    max_wal_size: '1GB',
    timezone: 'UTC',
    ...(tlsFiles ? { ssl: 'on', ssl_cert_file: tlsFiles.certFile, ssl_key_file: tlsFiles.keyFile } : {}),
    ...extra,
  };
  const lines = Object.entries(settings).map(([key, value]) => `${key} = ${quoteSetting(value)}`);
  return `${lines.join('\n')}\n`;
}

function readPostmasterPid(dataDir: string): number | null {
  try {
    const pid = Number(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Immediate shutdown by signal (SIGQUIT, then SIGKILL): synchronous, so it works inside an 'exit' hook. */
function killPostmasterSync(cluster: LiveCluster): void {
  const pid = readPostmasterPid(cluster.dataDir);
  if (pid === null || !isAlive(pid)) return;
  try {
    process.kill(pid, 'SIGQUIT');
  } catch {
    return;
  }
  const deadline = Date.now() + 5_000;
  while (isAlive(pid) && Date.now() < deadline) sleepSync(20);
  if (isAlive(pid)) process.kill(pid, 'SIGKILL');
}

function stopAllSync(): void {
  for (const cluster of liveClusters) {
    killPostmasterSync(cluster);
    rmSync(cluster.root, { recursive: true, force: true });
  }
  liveClusters.clear();
}

// A crashed or interrupted run must not leave servers behind: the postmaster runs in its own
// session, so neither Ctrl-C nor our exit reaches it unless we pass it on.
function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.on('exit', stopAllSync);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      stopAllSync();
      // Re-raise only when nobody else handles the signal, so the process still dies as it would have.
      if (process.listenerCount(signal) === 1) {
        process.removeListener(signal, onSignal);
        process.kill(process.pid, signal);
      }
    };
    process.on(signal, onSignal);
  }
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (hasExited(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

async function stopCluster(cluster: LiveCluster): Promise<void> {
  cluster.stopping ??= (async () => {
    const postmaster = cluster.postmaster;
    if (postmaster !== null && !hasExited(postmaster)) {
      const pgCtl = path.join(findPostgresBinDir(), 'pg_ctl');
      const stop = asPostgresUser(pgCtl, [
        'stop',
        '-D',
        cluster.dataDir,
        '-m',
        'immediate',
        '-w',
        '-t',
        '30',
      ]);
      await runCommand(stop.file, stop.args, cluster.root).catch(() => killPostmasterSync(cluster));
      if (!(await waitForExit(postmaster, STOP_TIMEOUT_MS))) killPostmasterSync(cluster);
    }
    await rm(cluster.root, { recursive: true, force: true });
    liveClusters.delete(cluster);
  })();
  return cluster.stopping;
}

class PortInUseError extends Error {}

async function isReady(port: number, pgIsReady: string | null): Promise<boolean> {
  if (!(await acceptsTcp(port))) return false;
  if (pgIsReady !== null) {
    const args = ['-q', '-h', HOST, '-p', String(port), '-U', SUPERUSER, '-d', 'postgres', '-t', '2'];
    return execFileAsync(pgIsReady, args, { env: cleanEnv() }).then(
      () => true,
      () => false,
    );
  }
  const client = new pg.Client({ host: HOST, port, user: SUPERUSER, database: 'postgres' });
  return client.connect().then(
    () => client.end().then(() => true),
    () => false,
  );
}

async function waitUntilReady(postmaster: ChildProcess, port: number, logFile: string): Promise<void> {
  const pgIsReady = findPostgresProgram('pg_isready');
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (hasExited(postmaster)) {
      const tail = await logTail(logFile);
      if (tail.includes('Address already in use')) throw new PortInUseError(`port ${port} taken`);
      throw new Error(
        `PostgreSQL exited while starting (exit code ${postmaster.exitCode}). Server log:\n${tail}`,
      );
    }
    if (await isReady(port, pgIsReady)) return;
    if (Date.now() > deadline) {
      throw new Error(
        `PostgreSQL did not accept connections on ${HOST}:${port} within ${READY_TIMEOUT_MS / 1000} s. ` +
          `Server log:\n${await logTail(logFile)}`,
      );
    }
    await sleep(25);
  }
}

function spawnPostmaster(binDir: string, root: string, dataDir: string, logFile: string): ChildProcess {
  const command = asPostgresUser(path.join(binDir, 'postgres'), ['-D', dataDir]);
  // A fresh log per attempt, so a port clash of an earlier attempt is not read as this one's.
  const log = openSync(logFile, 'w');
  try {
    // Own session (detached): a Ctrl-C meant for the test runner must not kill the server mid-test.
    const child = spawn(command.file, command.args, {
      cwd: root,
      env: cleanEnv(),
      detached: true,
      stdio: ['ignore', log, log],
    });
    child.unref();
    return child;
  } finally {
    closeSync(log);
  }
}

const ROLES = {
  scram: 'airlock_scram',
  md5: 'airlock_md5',
  trust: 'airlock_trust',
  cleartext: 'airlock_clear',
  tls: 'airlock_tls',
} as const;

// Baked once into the template: roles without passwords (each cluster sets fresh ones), the
// database, and the grants (PostgreSQL 15 no longer lets everyone create in `public`).
const TEMPLATE_SQL = [
  ...Object.values(ROLES).map((role) => `CREATE ROLE ${role} LOGIN`),
  `CREATE DATABASE ${DATABASE}`,
  `GRANT ALL ON DATABASE ${DATABASE} TO ${Object.values(ROLES).join(', ')}`,
];
const TEMPLATE_SHOP_SQL = `GRANT ALL ON SCHEMA public TO ${Object.values(ROLES).join(', ')}`;

async function runSql(port: number, database: string, statements: readonly string[]): Promise<void> {
  const client = new pg.Client({ host: HOST, port, user: SUPERUSER, database });
  await client.connect();
  try {
    // One statement per query: CREATE DATABASE refuses to run inside a multi-statement query.
    for (const statement of statements) await client.query(statement);
  } finally {
    await client.end();
  }
}

function newCluster(root: string): LiveCluster {
  const cluster: LiveCluster = { root, dataDir: path.join(root, 'data'), postmaster: null, stopping: null };
  liveClusters.add(cluster);
  installExitHooks();
  return cluster;
}

async function makeClusterRoot(prefix: string): Promise<string> {
  const root = await mkdtemp(path.join(clusterScratchDir(), prefix));
  const owner = postgresOwner();
  if (owner) await chown(root, owner.uid, owner.gid);
  return root;
}

/** Writes pg_hba.conf and the port/TLS settings, starts the postmaster, waits for it; returns the port. */
async function bootCluster(
  cluster: LiveCluster,
  hba: string,
  tlsFiles: { certFile: string; keyFile: string } | null,
  extra: Readonly<Record<string, string | number>>,
): Promise<number> {
  const binDir = findPostgresBinDir();
  const logFile = path.join(cluster.root, 'postgres.log');
  await writeFile(path.join(cluster.dataDir, 'pg_hba.conf'), hba);
  for (let attempt = 1; ; attempt++) {
    const port = await findFreePort();
    const settings = serverSettings(cluster.root, port, tlsFiles, extra);
    await writeFile(path.join(cluster.dataDir, 'airlock-test.conf'), settings);
    cluster.postmaster = spawnPostmaster(binDir, cluster.root, cluster.dataDir, logFile);
    try {
      await waitUntilReady(cluster.postmaster, port, logFile);
      return port;
    } catch (error) {
      // Another process took the port between our probe and the server's bind: try a new one.
      if (!(error instanceof PortInUseError) || attempt >= PORT_ATTEMPTS) throw error;
    }
  }
}

// initdb and CREATE DATABASE take about a second; copying a cluster made once takes a tenth of
// that. The key changes when the server binaries or the baked SQL change.
function templateDir(): string {
  const binDir = findPostgresBinDir();
  const key = createHash('sha256')
    .update(
      [binDir, statSync(path.join(binDir, 'initdb')).mtimeMs, process.getuid?.(), ...TEMPLATE_SQL].join('\n'),
    )
    .update(TEMPLATE_SHOP_SQL)
    .digest('hex')
    .slice(0, 16);
  return path.join(clusterScratchDir(), `airlock-pg-template-${key}`);
}

async function buildTemplate(target: string): Promise<void> {
  const cluster = newCluster(await makeClusterRoot('airlock-pg-build-'));
  try {
    const initdb = asPostgresUser(path.join(findPostgresBinDir(), 'initdb'), [
      ...['-D', cluster.dataDir, '-U', SUPERUSER, '-A', 'trust', '-E', 'UTF8', '--locale=C'],
      ...['--no-sync', '--no-instructions'],
    ]);
    await runCommand(initdb.file, initdb.args, cluster.root);
    await appendFile(
      path.join(cluster.dataDir, 'postgresql.conf'),
      "\ninclude_if_exists = 'airlock-test.conf'\n",
    );
    const port = await bootCluster(cluster, hbaConf(false), null, {});
    await runSql(port, 'postgres', TEMPLATE_SQL);
    await runSql(port, DATABASE, [TEMPLATE_SHOP_SQL]);
    // A clean shutdown, so copies start without crash recovery.
    const stop = asPostgresUser(path.join(findPostgresBinDir(), 'pg_ctl'), [
      'stop',
      '-D',
      cluster.dataDir,
      '-m',
      'fast',
      '-w',
    ]);
    await runCommand(stop.file, stop.args, cluster.root);
    if (cluster.postmaster) await waitForExit(cluster.postmaster, STOP_TIMEOUT_MS);
    await rm(path.join(cluster.root, 'postgres.log'), { force: true });
    // Atomic publish; when a parallel test file won the race, its copy is as good as ours.
    await rename(cluster.root, target).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error;
    });
  } finally {
    await stopCluster(cluster);
  }
}

async function setPasswords(port: number, users: RealPostgresUsers): Promise<void> {
  await runSql(port, 'postgres', [
    `ALTER ROLE ${users.scram.user} PASSWORD ${quoteLiteral(users.scram.password)}`,
    `ALTER ROLE ${users.cleartext.user} PASSWORD ${quoteLiteral(users.cleartext.password)}`,
    `ALTER ROLE ${users.tls.user} PASSWORD ${quoteLiteral(users.tls.password)}`,
    // An md5 verifier: with a SCRAM one the server would silently run SCRAM on md5 lines.
    "SET password_encryption = 'md5'",
    `ALTER ROLE ${users.md5.user} PASSWORD ${quoteLiteral(users.md5.password)}`,
  ]);
}

function makeUsers(): RealPostgresUsers {
  const secret = (): string => randomBytes(12).toString('hex');
  return {
    scram: { user: ROLES.scram, password: secret() },
    md5: { user: ROLES.md5, password: secret() },
    trust: { user: ROLES.trust },
    cleartext: { user: ROLES.cleartext, password: secret() },
    tls: { user: ROLES.tls, password: secret() },
  };
}

function describeCluster(
  cluster: LiveCluster,
  port: number,
  users: RealPostgresUsers,
  tls: RealPostgres['tls'],
): RealPostgres {
  const stop = (): Promise<void> => stopCluster(cluster);
  return {
    host: HOST,
    port,
    superuser: SUPERUSER,
    dataDir: cluster.dataDir,
    ...(tls ? { tls } : {}),
    users,
    database: DATABASE,
    url(user, password, db = DATABASE) {
      const name = encodeURIComponent(user);
      const auth = password === undefined ? name : `${name}:${encodeURIComponent(password)}`;
      return `postgresql://${auth}@${HOST}:${port}/${encodeURIComponent(db)}`;
    },
    psqlEnv(user = SUPERUSER, password, db = DATABASE) {
      return {
        ...cleanEnv(),
        PGHOST: HOST,
        PGPORT: String(port),
        PGUSER: user,
        PGDATABASE: db,
        ...(password === undefined ? {} : { PGPASSWORD: password }),
      };
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

async function startFromTemplate(template: string, options: RealPostgresOptions): Promise<RealPostgres> {
  const cluster = newCluster(await makeClusterRoot('airlock-pg-'));
  try {
    const copy = runCommand('cp', ['-a', path.join(template, 'data'), cluster.dataDir], cluster.root);
    const [certificates] = await Promise.all([
      options.ssl ? generateTestCertificates(path.join(cluster.root, 'tls')) : null,
      copy,
    ]);
    const owner = postgresOwner();
    if (certificates && owner) await chown(certificates.keyFile, owner.uid, owner.gid);
    const hba = hbaConf(Boolean(options.ssl));
    const port = await bootCluster(cluster, hba, certificates, options.settings ?? {});
    const users = makeUsers();
    await setPasswords(port, users);
    const tls = certificates ? { caPem: certificates.caPem, caFile: certificates.caFile } : undefined;
    return describeCluster(cluster, port, users, tls);
  } catch (error) {
    await stopCluster(cluster);
    throw error;
  }
}

/**
 * Starts a private PostgreSQL on a free 127.0.0.1 port with the `shop` database and one user per
 * auth method (fresh random passwords). The first call on a machine runs initdb into a cached
 * template in the temp dir (~1.5 s); later calls copy it (~0.3 s). Runs the server as `postgres`
 * when we are root. Stopped and deleted by `stop()`, and when this process exits or is interrupted.
 */
export async function startRealPostgres(options: RealPostgresOptions = {}): Promise<RealPostgres> {
  const template = templateDir();
  const fresh = !existsSync(path.join(template, 'data', 'PG_VERSION'));
  if (fresh) await buildTemplate(template);
  try {
    return await startFromTemplate(template, options);
  } catch (error) {
    if (fresh) throw error;
    // A template damaged since it was made (e.g. by a temp-dir cleaner): rebuild it once.
    await rm(template, { recursive: true, force: true });
    await buildTemplate(template);
    return startFromTemplate(template, options);
  }
}
