/** `npm run bench`: pgbench and bulk reads straight to PostgreSQL vs through pgbouncer vs through Airlock, in one run. */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { findPostgresProgram, type RealPostgres } from '../test/helpers/real-postgres.js';
import { startAirlock } from './lib/airlock-gateway.js';
import { cleanup, cleanups, log, message, startBenchPostgres } from './lib/bench-log.js';
import {
  DEFAULT_TARGETS,
  formatTable,
  type ReportLine,
  TARGET_NAMES,
  type TargetName,
  writeJsonReport,
} from './lib/bench-report.js';
import { installCleanup, runChecked } from './lib/child-processes.js';
import { type BenchTarget, clientEnv, runSelectOnly, timeStream } from './lib/pgbench-runs.js';
import { ensurePgbouncer, startPgbouncer } from './lib/pgbouncer.js';

const USAGE = `Usage: npm run bench -- [--duration <seconds>] [--scale <n>] [--targets ${TARGET_NAMES.join(',')}]
  --duration  seconds per pgbench run (default 15, or $BENCH_SECONDS)
  --scale     pgbench scale factor (default 10: 1,000,000 accounts)
  --targets   paths to measure (default: ${DEFAULT_TARGETS.join(',')})
  airlock = \`airlock serve\` (policy + audit, durability fsync); airlock-audit-os = the same with durability os;
  airlock-no-audit = policy only; airlock-allow-all = neither. Bench-only probes of the audit path
  (bench/lib/probe-committers.ts): probe-unstored = every event serialized, hashed and group-committed,
  nothing stored; probe-journal = the same appended to a plain file, fdatasync'd per group, no SQLite`;

interface BenchOptions {
  readonly seconds: number;
  readonly scale: number;
  readonly targets: readonly TargetName[];
}

function readOptions(): BenchOptions {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string' },
      scale: { type: 'string', default: '10' },
      targets: { type: 'string', default: DEFAULT_TARGETS.join(',') },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const seconds = Number(values.duration ?? process.env.BENCH_SECONDS ?? 15);
  const scale = Number(values.scale);
  const targets = values.targets.split(',').map((name) => name.trim());
  const unknown = targets.filter((name) => !(TARGET_NAMES as readonly string[]).includes(name));
  if (
    !Number.isInteger(seconds) ||
    seconds < 1 ||
    !Number.isInteger(scale) ||
    scale < 1 ||
    unknown.length > 0
  ) {
    process.stderr.write(
      `Invalid options${unknown.length > 0 ? ` (unknown targets: ${unknown.join(', ')})` : ''}.\n${USAGE}\n`,
    );
    process.exit(2);
  }
  return { seconds, scale, targets: targets as TargetName[] };
}

/** Loads the table and index into shared_buffers, so the first path measured does not pay for a cold cache. */
async function prewarm(server: RealPostgres): Promise<void> {
  const sql =
    "CREATE EXTENSION IF NOT EXISTS pg_prewarm; SELECT pg_prewarm('pgbench_accounts'), pg_prewarm('pgbench_accounts_pkey')";
  await runChecked(findPostgresProgram('psql') ?? 'psql', ['-X', '-q', '-c', sql], {
    env: server.psqlEnv(),
  }).catch((error) => log(`pg_prewarm skipped: ${message(error)}`));
}

/** Starts pgbouncer and Airlock in front of `direct`; a path that cannot start is reported, not fatal. */
async function startTargets(
  wanted: readonly TargetName[],
  direct: BenchTarget,
): Promise<{
  targets: Map<TargetName, BenchTarget>;
  unavailable: Record<string, string>;
  pgbouncer: string | null;
}> {
  const targets = new Map<TargetName, BenchTarget>();
  const unavailable: Record<string, string> = {};
  let pgbouncer: string | null = null;
  const upstream = {
    upstreamPort: direct.port,
    database: direct.database,
    user: direct.user,
    password: direct.password,
  };
  if (wanted.includes('direct')) targets.set('direct', direct);
  if (wanted.includes('pgbouncer')) {
    try {
      const bouncer = await startPgbouncer({ binary: await ensurePgbouncer(log), ...upstream });
      cleanups.push(bouncer.stop);
      pgbouncer = bouncer.version;
      targets.set('pgbouncer', { ...direct, name: 'pgbouncer', port: bouncer.port });
    } catch (error) {
      unavailable.pgbouncer = message(error);
    }
  }
  const variants = {
    airlock: 'serve',
    'airlock-audit-os': 'serve-os',
    'airlock-no-audit': 'no-audit',
    'airlock-allow-all': 'allow-all',
    'probe-unstored': 'audit-unstored',
    'probe-journal': 'audit-journal',
  } as const;
  for (const [name, variant] of Object.entries(variants) as [
    keyof typeof variants,
    (typeof variants)[keyof typeof variants],
  ][]) {
    if (!wanted.includes(name)) continue;
    try {
      const gateway = await startAirlock({ ...upstream, variant });
      cleanups.push(gateway.stop);
      targets.set(name, { name, host: '127.0.0.1', ...gateway });
    } catch (error) {
      unavailable[name] = message(error);
    }
  }
  for (const [name, reason] of Object.entries(unavailable)) log(`${name} unavailable: ${reason}`);
  return { targets, unavailable, pgbouncer };
}

async function measurePgbench(targets: Map<TargetName, BenchTarget>, seconds: number): Promise<ReportLine[]> {
  const lines: ReportLine[] = [];
  for (const mode of ['simple', 'prepared'] as const) {
    for (const clients of [1, 8]) {
      const workload = `pgbench -S -M ${mode} -c ${clients}`;
      const tps: ReportLine['values'] = {};
      const latency: ReportLine['values'] = {};
      // Paths alternate within each workload, so drift over the run (thermal, noise) hits all alike.
      for (const [name, target] of targets) {
        log(`${workload} via ${name} (${seconds} s)`);
        const result = await runSelectOnly(target, { mode, clients, seconds });
        tps[name] = result.ok ? { ok: true, value: result.value.tps } : result;
        latency[name] = result.ok ? { ok: true, value: result.value.latencyMs } : result;
      }
      lines.push(
        { workload, metric: 'TPS', values: tps },
        { workload, metric: 'latency ms', values: latency },
      );
    }
  }
  return lines;
}

async function measureStreams(targets: Map<TargetName, BenchTarget>, rows: number): Promise<ReportLine[]> {
  const streams = [
    {
      workload: `psql COPY ${rows} rows TO STDOUT`,
      args: [],
      sql: 'COPY (SELECT * FROM pgbench_accounts) TO STDOUT',
    },
    { workload: `psql -At SELECT ${rows} rows`, args: ['-At'], sql: 'SELECT * FROM pgbench_accounts' },
  ];
  const lines: ReportLine[] = [];
  for (const stream of streams) {
    const values: ReportLine['values'] = {};
    for (const [name, target] of targets) {
      log(`${stream.workload} via ${name} (best of 3)`);
      const result = await timeStream(target, stream.args, stream.sql);
      values[name] = result.ok ? { ok: true, value: result.value / 1000 } : result;
    }
    lines.push({ workload: stream.workload, metric: 'seconds', values });
  }
  return lines;
}

async function main(): Promise<void> {
  const options = readOptions();
  const startedAt = new Date();
  installCleanup(cleanup);
  const pgbench = findPostgresProgram('pgbench');
  if (pgbench === null) throw new Error('pgbench not found: install it with `apt-get install -y postgresql`');

  const { server, direct } = await startBenchPostgres('256MB');
  const { user } = direct;

  // Loaded directly as the upstream user, so the tables belong to the role Airlock logs in as.
  log(`pgbench -i -s ${options.scale} as ${user}`);
  await runChecked(pgbench, ['-i', '-q', '-s', String(options.scale)], { env: clientEnv(direct) });
  await prewarm(server);
  const serverVersion = (
    await runChecked(findPostgresProgram('psql') ?? 'psql', ['-XAtc', 'SHOW server_version'], {
      env: server.psqlEnv(),
    })
  ).trim();

  const { targets, unavailable, pgbouncer } = await startTargets(options.targets, direct);
  const lines = [
    ...(await measurePgbench(targets, options.seconds)),
    ...(await measureStreams(targets, options.scale * 100_000)),
  ];

  const cpu = os.cpus();
  const machine = `${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB`;
  const meta = {
    machine,
    node: process.version,
    postgres: serverVersion,
    pgbouncer,
    secondsPerRun: options.seconds,
    scale: options.scale,
    unavailable,
  };
  process.stdout.write(
    [
      '',
      `pgbench select-only, ${options.seconds} s per run, scale ${options.scale}; -j min(clients, 2)`,
      `${machine}; PostgreSQL ${serverVersion}; ${pgbouncer ?? 'no pgbouncer'}; Node ${process.version}; one run`,
      '',
      formatTable(lines),
      ...Object.entries(unavailable).map(([name, reason]) => `\n${name} not measured: ${reason}`),
      '',
    ].join('\n'),
  );
  log(`JSON copy: ${await writeJsonReport(startedAt, meta, lines)}`);
}

try {
  await main();
} catch (error) {
  log(`failed: ${message(error)}`);
  process.exitCode = 1;
} finally {
  await cleanup();
}
