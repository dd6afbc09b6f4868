/** One pgbench run or one timed psql stream against a target, with the numbers parsed out. */
import { cleanEnv, findPostgresProgram } from '../../test/helpers/real-postgres.js';
import { runCommand } from './child-processes.js';

/** Somewhere PostgreSQL clients can connect to: the server itself, pgbouncer, or Airlock. */
export interface BenchTarget {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database: string;
}

/** A measured number, or why there is none. */
export type Measurement<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: string };

/** What pgbench reports for one run. */
export interface PgbenchResult {
  readonly tps: number;
  readonly latencyMs: number;
}

/** libpq settings for `target`, with nothing inherited from the caller's PG* variables. */
export function clientEnv(target: BenchTarget): NodeJS.ProcessEnv {
  return {
    ...cleanEnv(),
    PGHOST: target.host,
    PGPORT: String(target.port),
    PGUSER: target.user,
    PGPASSWORD: target.password,
    PGDATABASE: target.database,
    PGSSLMODE: 'disable',
  };
}

function program(name: string): string {
  const found = findPostgresProgram(name);
  if (found === null)
    throw new Error(`${name} not found: install it with \`apt-get install -y postgresql-client\``);
  return found;
}

function failure(stderr: string, stdout: string): string {
  return (stderr || stdout).trim().split('\n').slice(-3).join(' | ') || 'failed without output';
}

/** `pgbench -n -S -M <mode> -c N -j min(N,2) -T <seconds>`: select-only, no vacuum (pgbench -i did it). */
export async function runSelectOnly(
  target: BenchTarget,
  options: { readonly mode: 'simple' | 'prepared'; readonly clients: number; readonly seconds: number },
): Promise<Measurement<PgbenchResult>> {
  const threads = Math.min(options.clients, 2);
  const args = ['-n', '-S', '-M', options.mode, '-c', String(options.clients), '-j', String(threads)];
  const result = await runCommand(program('pgbench'), [...args, '-T', String(options.seconds)], {
    env: clientEnv(target),
  });
  const tps = /^tps = ([\d.]+)/m.exec(result.stdout)?.[1];
  const latency = /^latency average = ([\d.]+) ms/m.exec(result.stdout)?.[1];
  if (result.code !== 0 || tps === undefined || latency === undefined) {
    return { ok: false, error: failure(result.stderr, result.stdout) };
  }
  return { ok: true, value: { tps: Number(tps), latencyMs: Number(latency) } };
}

/** Best wall time in ms of `psql <extraArgs> -c <sql> > /dev/null` over `repeats` runs. */
export async function timeStream(
  target: BenchTarget,
  extraArgs: readonly string[],
  sql: string,
  repeats = 3,
): Promise<Measurement<number>> {
  let best = Number.POSITIVE_INFINITY;
  for (let run = 0; run < repeats; run++) {
    const result = await runCommand(
      program('psql'),
      ['-X', '-q', '-v', 'ON_ERROR_STOP=1', ...extraArgs, '-c', sql],
      {
        env: clientEnv(target),
        discardStdout: true,
      },
    );
    if (result.code !== 0) return { ok: false, error: failure(result.stderr, '') };
    best = Math.min(best, result.ms);
  }
  return { ok: true, value: best };
}
