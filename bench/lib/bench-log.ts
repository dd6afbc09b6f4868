/** What every bench script shares: progress lines on stderr, the stack of things to stop on exit, the server. */
import { type RealPostgres, startRealPostgres } from '../../test/helpers/real-postgres.js';
import type { BenchTarget } from './pgbench-runs.js';

export function log(line: string): void {
  process.stderr.write(`bench: ${line}\n`);
}

export function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Steps that stop what a bench started, run newest first. */
export const cleanups: Array<() => Promise<void>> = [];

export async function cleanup(): Promise<void> {
  for (const step of cleanups.splice(0).reverse())
    await step().catch((error) => log(`cleanup: ${message(error)}`));
}

/**
 * Starts the bench's PostgreSQL (stopped by `cleanup`) and describes connecting to it directly as the
 * SCRAM user — the user the gateway logs in as, so the tables it loads belong to that role.
 */
export async function startBenchPostgres(
  sharedBuffers: string,
): Promise<{ server: RealPostgres; direct: BenchTarget }> {
  log('starting PostgreSQL');
  const server = await startRealPostgres({ settings: { shared_buffers: sharedBuffers } });
  cleanups.push(() => server.stop());
  const { user, password } = server.users.scram;
  const direct: BenchTarget = {
    name: 'direct',
    host: server.host,
    port: server.port,
    user,
    password,
    database: server.database,
  };
  return { server, direct };
}
