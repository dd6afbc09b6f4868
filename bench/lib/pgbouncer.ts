/** A private pgbouncer (session pooling) in front of the bench cluster, installed with apt-get when missing. */
import { existsSync } from 'node:fs';
import { chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { asPostgresUser, findFreePort, postgresOwner } from '../../test/helpers/real-postgres.js';
import { runChecked, startDaemon, stopDaemon, waitForListening } from './child-processes.js';

/** A running pgbouncer; `stop()` ends it and deletes its directory. */
export interface RunningPgbouncer {
  readonly port: number;
  readonly version: string;
  stop(): Promise<void>;
}

function findPgbouncer(): string | null {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/sbin', '/usr/bin'];
  const dir = dirs.find((candidate) => candidate !== '' && existsSync(path.join(candidate, 'pgbouncer')));
  return dir === undefined ? null : path.join(dir, 'pgbouncer');
}

/** Path of pgbouncer; as root installs Debian's package first when it is missing. */
export async function ensurePgbouncer(log: (line: string) => void): Promise<string> {
  const found = findPgbouncer();
  if (found) return found;
  if (process.getuid?.() !== 0) {
    throw new Error(
      'pgbouncer is not installed: run `sudo apt-get install -y pgbouncer`, then the bench again.',
    );
  }
  log('pgbouncer not found: installing it with apt-get');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    await runChecked('apt-get', ['install', '-y', '--no-install-recommends', 'pgbouncer'], { env });
  } catch {
    // Stale package lists are the usual reason; refresh them once.
    await runChecked('apt-get', ['update'], { env });
    await runChecked('apt-get', ['install', '-y', '--no-install-recommends', 'pgbouncer'], { env });
  }
  const installed = findPgbouncer();
  if (!installed) throw new Error('apt-get installed pgbouncer, but it is not on PATH or in /usr/sbin');
  return installed;
}

function quoteUserlist(value: string): string {
  return `"${value.replaceAll('"', '""')}"`;
}

/**
 * Starts pgbouncer on a free 127.0.0.1 port, pool_mode=session, relaying `database` to the cluster
 * with plain-text userlist auth for one user (it also logs in upstream with that password).
 */
export async function startPgbouncer(options: {
  readonly binary: string;
  readonly upstreamPort: number;
  readonly database: string;
  readonly user: string;
  readonly password: string;
}): Promise<RunningPgbouncer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'airlock-bench-pgbouncer-'));
  const owner = postgresOwner();
  if (owner) await chown(dir, owner.uid, owner.gid);
  const port = await findFreePort();
  const userlist = path.join(dir, 'userlist.txt');
  const ini = path.join(dir, 'pgbouncer.ini');
  const logFile = path.join(dir, 'pgbouncer.log');
  await writeFile(userlist, `${quoteUserlist(options.user)} ${quoteUserlist(options.password)}\n`);
  await writeFile(
    ini,
    [
      '[databases]',
      `${options.database} = host=127.0.0.1 port=${options.upstreamPort} dbname=${options.database}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = plain',
      `auth_file = ${userlist}`,
      'pool_mode = session',
      'max_client_conn = 100',
      'default_pool_size = 20',
      'ignore_startup_parameters = extra_float_digits',
      '',
    ].join('\n'),
  );
  const version = (await runChecked(options.binary, ['--version'])).split('\n')[0]?.trim() ?? 'unknown';
  // pgbouncer refuses to run as root, like PostgreSQL.
  const command = asPostgresUser(options.binary, [ini]);
  const child = startDaemon(command.file, command.args, { cwd: dir, logFile });
  const stop = async (): Promise<void> => {
    await stopDaemon(child);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitForListening(child, port, logFile);
  } catch (error) {
    await stop();
    throw error;
  }
  return { port, version, stop };
}
