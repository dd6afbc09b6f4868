/** Airlock as the bench's third target: a temp config, a token from the CLI, and `airlock serve` as a child. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findFreePort } from '../../test/helpers/real-postgres.js';
import { runChecked, startDaemon, stopDaemon, waitForListening } from './child-processes.js';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = ['--import', 'tsx', 'src/cli/main.ts'];

/** A running gateway and the token the bench connects with. */
export interface RunningAirlock {
  readonly port: number;
  /** Token id: the PostgreSQL user name. */
  readonly user: string;
  /** Token secret: the PostgreSQL password. */
  readonly password: string;
  /** Upstream name: the PostgreSQL database name. */
  readonly database: string;
  stop(): Promise<void>;
}

function configYaml(listenPort: number, upstreamUrl: string, storePath: string, durability: string): string {
  return [
    '# Written by bench/lib/airlock-gateway.ts for one bench run.',
    'listen:',
    `  postgres: 127.0.0.1:${listenPort}`,
    `store: sqlite:${storePath}`,
    'upstreams:',
    '  bench:',
    `    url: ${upstreamUrl}`,
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Airlock substitutes ${VAR} from the environment.
    '    password: ${BENCH_DB_PASSWORD}',
    '    tls: disable',
    'roles:',
    '  bench:',
    '    upstream: bench',
    // A realistic least-privilege role: every statement is analysed and decided.
    '    allow:',
    '      - tables: [public.pgbench_accounts, public.pgbench_branches, public.pgbench_tellers, public.pgbench_history]',
    '        operations: [select]',
    'log:',
    '  level: warn',
    'audit:',
    `  durability: ${durability}`,
    '',
  ].join('\n');
}

/**
 * Starts Airlock in front of the cluster on `upstreamPort`, relaying to database `database` as
 * `user`/`password` (held only by the gateway), and issues a 2 h token for role `bench`.
 */
export async function startAirlock(options: {
  readonly upstreamPort: number;
  readonly database: string;
  readonly user: string;
  readonly password: string;
  /**
   * `serve` (default): `airlock serve`, policy and audit (durability fsync); `serve-os`: the same
   * with `audit.durability: os`. The bench-only variants price each step:
   * `no-audit` (policy, nothing recorded) and `allow-all` (no policy, nothing recorded).
   */
  readonly variant?: 'serve' | 'serve-os' | 'no-audit' | 'allow-all';
}): Promise<RunningAirlock> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'airlock-bench-gateway-'));
  const configFile = path.join(dir, 'airlock.yaml');
  const logFile = path.join(dir, 'airlock.log');
  const port = await findFreePort();
  const upstreamUrl = `postgres://${encodeURIComponent(options.user)}@127.0.0.1:${options.upstreamPort}/${options.database}`;
  const variant = options.variant ?? 'serve';
  const durability = variant === 'serve-os' ? 'os' : 'fsync';
  await writeFile(configFile, configYaml(port, upstreamUrl, path.join(dir, 'airlock.db'), durability));
  const env = { ...process.env, BENCH_DB_PASSWORD: options.password };
  const node = process.execPath;
  let child: ReturnType<typeof startDaemon> | null = null;
  const stop = async (): Promise<void> => {
    if (child) await stopDaemon(child);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const issued = await runChecked(
      node,
      [...CLI, 'token', 'issue', '--config', configFile, '--role', 'bench', '--subject', 'bench'].concat([
        '--reason',
        'benchmark',
        '--ttl',
        '2h',
        '--json',
      ]),
      { env, cwd: REPO_ROOT },
    );
    const token = JSON.parse(issued) as { user: string; password: string; database: string };
    const command =
      variant === 'serve' || variant === 'serve-os'
        ? [...CLI, 'serve', '--config', configFile]
        : ['--import', 'tsx', 'bench/lib/bench-gateway.ts', configFile, variant];
    child = startDaemon(node, command, { env, cwd: REPO_ROOT, logFile });
    await waitForListening(child, port, logFile);
    return { port, user: token.user, password: token.password, database: token.database, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
