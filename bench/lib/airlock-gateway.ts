/** Airlock as the bench's third target: a temp config, a token from the CLI, and `airlock serve` as a child. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findFreePort } from '../../test/helpers/real-postgres.js';
import { runChecked, startDaemon, stopDaemon, waitForListening } from './child-processes.js';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = ['--import', 'tsx', 'src/cli/main.ts'];

/** A token as `airlock token issue --json` prints it: what a PostgreSQL client logs in with. */
export interface AirlockToken {
  /** Token id: the PostgreSQL user name. */
  readonly user: string;
  /** Token secret: the PostgreSQL password. */
  readonly password: string;
  /** Upstream name: the PostgreSQL database name. */
  readonly database: string;
}

/** A running gateway and the token the bench connects with (the first of `tokenRoles`). */
export interface RunningAirlock extends AirlockToken {
  readonly port: number;
  /** One token per role in `tokenRoles`, by role name. */
  readonly tokens: ReadonlyMap<string, AirlockToken>;
  stop(): Promise<void>;
}

/** The upstream name the gateway's config gives the cluster; caller-supplied roles point at it. */
export const BENCH_UPSTREAM = 'bench';

// A realistic least-privilege role: every statement is analysed and decided.
const DEFAULT_ROLES_YAML = [
  'bench:',
  `  upstream: ${BENCH_UPSTREAM}`,
  '  allow:',
  '    - tables: [public.pgbench_accounts, public.pgbench_branches, public.pgbench_tellers, public.pgbench_history]',
  '      operations: [select]',
].join('\n');

function indent(yaml: string): string[] {
  return yaml.split('\n').map((line) => (line === '' ? line : `  ${line}`));
}

function configYaml(
  listenPort: number,
  upstreamUrl: string,
  storePath: string,
  durability: string,
  rolesYaml: string,
  extraYaml: string,
): string {
  return [
    '# Written by bench/lib/airlock-gateway.ts for one bench run.',
    'listen:',
    `  postgres: 127.0.0.1:${listenPort}`,
    `store: sqlite:${storePath}`,
    'upstreams:',
    `  ${BENCH_UPSTREAM}:`,
    `    url: ${upstreamUrl}`,
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Airlock substitutes ${VAR} from the environment.
    '    password: ${BENCH_DB_PASSWORD}',
    '    tls: disable',
    'roles:',
    ...indent(rolesYaml),
    'log:',
    '  level: warn',
    'audit:',
    `  durability: ${durability}`,
    ...(extraYaml === '' ? [] : [extraYaml.trimEnd()]),
    '',
  ].join('\n');
}

/**
 * Starts Airlock in front of the cluster on `upstreamPort`, relaying to database `database` as
 * `user`/`password` (held only by the gateway), and issues a 2 h token for role `bench` — or, when
 * the caller brings its own `rolesYaml`, one token per role in `tokenRoles`.
 */
export async function startAirlock(options: {
  readonly upstreamPort: number;
  readonly database: string;
  readonly user: string;
  readonly password: string;
  /**
   * `serve` (default): `airlock serve`, policy and audit (durability fsync); `serve-os`: the same
   * with `audit.durability: os`. The bench-only variants price each step:
   * `no-audit` (policy, nothing recorded), `allow-all` (no policy, nothing recorded),
   * `audit-unstored` and `audit-journal` (bench/lib/probe-committers.ts).
   */
  readonly variant?: 'serve' | 'serve-os' | 'no-audit' | 'allow-all' | 'audit-unstored' | 'audit-journal';
  /**
   * The entries of the `roles:` mapping, written unindented (role name → role); roles use
   * upstream {@link BENCH_UPSTREAM}. Default: role `bench`, select on the pgbench tables.
   */
  readonly rolesYaml?: string;
  /** Further top-level YAML (e.g. `masking:`, `classify:`) appended to the config as is. */
  readonly extraYaml?: string;
  /** The roles to issue a token for (default `['bench']`); the first is the gateway's `user`. */
  readonly tokenRoles?: readonly string[];
}): Promise<RunningAirlock> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'airlock-bench-gateway-'));
  const configFile = path.join(dir, 'airlock.yaml');
  const logFile = path.join(dir, 'airlock.log');
  const port = await findFreePort();
  const upstreamUrl = `postgres://${encodeURIComponent(options.user)}@127.0.0.1:${options.upstreamPort}/${options.database}`;
  const variant = options.variant ?? 'serve';
  const durability = variant === 'serve-os' ? 'os' : 'fsync';
  const tokenRoles = options.tokenRoles ?? ['bench'];
  if (tokenRoles.length === 0) throw new Error('startAirlock: tokenRoles must name at least one role');
  await writeFile(
    configFile,
    configYaml(
      port,
      upstreamUrl,
      path.join(dir, 'airlock.db'),
      durability,
      options.rolesYaml ?? DEFAULT_ROLES_YAML,
      options.extraYaml ?? '',
    ),
  );
  const env = { ...process.env, BENCH_DB_PASSWORD: options.password };
  const node = process.execPath;
  let child: ReturnType<typeof startDaemon> | null = null;
  const stop = async (): Promise<void> => {
    if (child) await stopDaemon(child);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const tokens = new Map<string, AirlockToken>();
    for (const role of tokenRoles) {
      const issued = await runChecked(
        node,
        [...CLI, 'token', 'issue', '--config', configFile, '--role', role, '--subject', 'bench'].concat([
          '--reason',
          'benchmark',
          '--ttl',
          '2h',
          '--json',
        ]),
        { env, cwd: REPO_ROOT },
      );
      const token = JSON.parse(issued) as AirlockToken;
      tokens.set(role, { user: token.user, password: token.password, database: token.database });
    }
    const entry =
      variant === 'serve' || variant === 'serve-os'
        ? [...CLI, 'serve', '--config', configFile]
        : ['--import', 'tsx', 'bench/lib/bench-gateway.ts', configFile, variant];
    // AIRLOCK_BENCH_PROFILE_DIR: write a V8 CPU profile of each gateway there (where its time goes).
    const profileDir = process.env.AIRLOCK_BENCH_PROFILE_DIR;
    const command = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, ...entry] : entry;
    child = startDaemon(node, command, { env, cwd: REPO_ROOT, logFile });
    await waitForListening(child, port, logFile);
    const first = tokens.get(tokenRoles[0] ?? 'bench');
    if (first === undefined) throw new Error('startAirlock: no token issued');
    return { port, ...first, tokens, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
