/** `npm run bench:masking`: a large result straight from PostgreSQL vs through Airlock unmasked vs masked, in one run. */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { isSensitiveClass, type SensitiveClass } from '../src/masking/sensitive-class.js';
import { findPostgresProgram, type RealPostgres } from '../test/helpers/real-postgres.js';
import { BENCH_UPSTREAM, startAirlock } from './lib/airlock-gateway.js';
import { cleanup, cleanups, log, message, startBenchPostgres } from './lib/bench-log.js';
import { installCleanup, runChecked } from './lib/child-processes.js';
import { customersTableSql } from './lib/customers-table.js';
import { type BenchTarget, clientEnv, type Measurement, timeStream } from './lib/pgbench-runs.js';

const DEFAULT_CLASSES = ['email', 'phone', 'credit_card'];

const USAGE = `Usage: npm run bench:masking -- [--rows <n>] [--repeats <n>] [--classes <list>]
  --rows     rows in public.customers (default 1000000)
  --repeats  runs per workload and target; the best wall time counts (default 3)
  --classes  content classes airlock-masked scans for (default ${DEFAULT_CLASSES.join(',')}; issue 5's
             example role: email,phone,credit_card,ssn,iban)
  Targets: direct; airlock-plain (role without mask rules); airlock-columns (email partial, ssn redact);
  airlock-masked (email partial, ssn redact,
  content scanning for the classes on every other text value). Audit on, as shipped.`;

// docs/performance.md, foundation run: the large-result stream through Airlock took 0.95x–1.08x of direct.
const FOUNDATION_RATIO = 1.08;
const PLAIN_TARGET = 1.2 * FOUNDATION_RATIO;
const MASKED_TARGET = 2.0;

const ALLOW_CUSTOMERS = ['  allow:', '    - tables: [public.customers]', '      operations: [select]'];
const TWO_MASKED_COLUMNS = [
  '    - columns: [public.customers.email]',
  '      strategy: partial',
  '    - columns: [public.customers.ssn]',
  '      strategy: redact',
];
/** The three roles; airlock-masked scans for `classes`. */
const rolesYaml = (classes: readonly SensitiveClass[]): string =>
  [
    'plain:',
    `  upstream: ${BENCH_UPSTREAM}`,
    ...ALLOW_CUSTOMERS,
    'masked:',
    `  upstream: ${BENCH_UPSTREAM}`,
    ...ALLOW_CUSTOMERS,
    '  mask:',
    ...TWO_MASKED_COLUMNS,
    `    - classes: [${classes.join(', ')}]`,
    '      strategy: redact',
    // The same two columns without content scanning: what the column rules alone cost.
    'columns:',
    `  upstream: ${BENCH_UPSTREAM}`,
    ...ALLOW_CUSTOMERS,
    '  mask:',
    ...TWO_MASKED_COLUMNS,
  ].join('\n');

const TARGETS = ['direct', 'airlock-plain', 'airlock-columns', 'airlock-masked'] as const;
type TargetName = (typeof TARGETS)[number];

interface BenchOptions {
  readonly rows: number;
  readonly repeats: number;
  readonly classes: readonly SensitiveClass[];
}

/** One measured cell: a workload on a target. */
interface StreamResult {
  readonly workload: string;
  readonly target: TargetName;
  readonly seconds: Measurement<number>;
}

function readOptions(): BenchOptions {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string', default: '1000000' },
      repeats: { type: 'string', default: '3' },
      classes: { type: 'string', default: DEFAULT_CLASSES.join(',') },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const rows = Number(values.rows);
  const repeats = Number(values.repeats);
  if (!Number.isInteger(rows) || rows < 1 || !Number.isInteger(repeats) || repeats < 1) {
    process.stderr.write(`Invalid options: --rows and --repeats take whole numbers ≥ 1.\n${USAGE}\n`);
    process.exit(2);
  }
  const classes = values.classes.split(',').map((name) => name.trim());
  const unknown = classes.filter((name) => !isSensitiveClass(name));
  if (classes.length === 0 || unknown.length > 0) {
    process.stderr.write(`Invalid --classes: ${unknown.join(', ') || '(none)'}.\n${USAGE}\n`);
    process.exit(2);
  }
  return { rows, repeats, classes: classes as SensitiveClass[] };
}

function psql(): string {
  const found = findPostgresProgram('psql');
  if (found === null)
    throw new Error('psql not found: install it with `apt-get install -y postgresql-client`');
  return found;
}

/** `psql -XAt -c <sql>` against `target`, its output trimmed. */
async function query(target: BenchTarget, sql: string): Promise<string> {
  const args = ['-X', '-At', '-v', 'ON_ERROR_STOP=1', '-c', sql];
  return (await runChecked(psql(), args, { env: clientEnv(target) })).trim();
}

/** Creates and fills public.customers as the upstream user (so the gateway's login owns it), then vacuums and prewarms it. */
async function loadCustomers(server: RealPostgres, direct: BenchTarget, rows: number): Promise<void> {
  const started = performance.now();
  await runChecked(psql(), ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', customersTableSql(rows)], {
    env: clientEnv(direct),
  });
  await runChecked(psql(), ['-X', '-q', '-c', 'VACUUM ANALYZE public.customers'], { env: clientEnv(direct) });
  const prewarm =
    "CREATE EXTENSION IF NOT EXISTS pg_prewarm; SELECT pg_prewarm('public.customers'), pg_prewarm('public.customers_pkey')";
  await runChecked(psql(), ['-X', '-q', '-c', prewarm], { env: server.psqlEnv() }).catch((error) =>
    log(`pg_prewarm skipped: ${message(error)}`),
  );
  log(`loaded ${rows} customers in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

/**
 * Refuses to time a masked path that does not mask: row 1's email and SSN must come back changed
 * through `masked` (as a result set and as COPY) and unchanged through `plain`.
 */
async function checkMasking(direct: BenchTarget, plain: BenchTarget, masked: BenchTarget): Promise<void> {
  const select = 'SELECT email, ssn FROM public.customers WHERE id = 1';
  const copy = `COPY (${select}) TO STDOUT`;
  const seeded = await query(direct, select);
  const [seededEmail, seededSsn] = seeded.split('|');
  if (seededEmail === undefined || seededSsn === undefined)
    throw new Error(`row 1 not found directly: "${seeded}"`);
  const viaPlain = await query(plain, select);
  if (viaPlain !== seeded) {
    throw new Error(
      `role plain should see row 1 in clear ("${seeded}") but got "${viaPlain}": check the gateway`,
    );
  }
  const viaMasked = { select: await query(masked, select), copy: await query(masked, copy) };
  for (const [how, text] of Object.entries(viaMasked)) {
    const [email, ssn] = how === 'copy' ? text.split('\t') : text.split('|');
    if (
      email === seededEmail ||
      ssn === seededSsn ||
      text.includes(seededEmail) ||
      text.includes(seededSsn)
    ) {
      throw new Error(
        `role masked got row 1 unmasked via ${how} ("${text}", seeded "${seeded}"): masking is not applied, ` +
          'so this benchmark would measure nothing. Check the mask rules and src/proxy/postgres/result-masker.ts.',
      );
    }
  }
  log(`masking applied: plain "${viaPlain}", masked "${viaMasked.select}" (COPY "${viaMasked.copy}")`);
}

async function measure(
  targets: ReadonlyMap<TargetName, BenchTarget>,
  options: BenchOptions,
): Promise<StreamResult[]> {
  const streams = [
    { workload: `psql -At SELECT ${options.rows} rows`, args: ['-At'], sql: 'SELECT * FROM customers' },
    {
      workload: `psql COPY ${options.rows} rows TO STDOUT`,
      args: [],
      sql: 'COPY (SELECT * FROM customers) TO STDOUT',
    },
  ];
  const direct = targets.get('direct');
  if (direct === undefined) throw new Error('no direct target to compare with');
  const results: StreamResult[] = [];
  for (const stream of streams) {
    // One untimed pass first, so the first target timed does not pay for cold caches alone.
    await timeStream(direct, stream.args, stream.sql, 1);
    // Targets alternate within each workload, so drift over the run hits all alike.
    for (const [target, bench] of targets) {
      log(`${stream.workload} via ${target} (best of ${options.repeats})`);
      const result = await timeStream(bench, stream.args, stream.sql, options.repeats);
      const seconds: Measurement<number> = result.ok ? { ok: true, value: result.value / 1000 } : result;
      results.push({ workload: stream.workload, target, seconds });
    }
  }
  return results;
}

/** `target` seconds over direct seconds for the same workload, or null when either is missing. */
function ratioToDirect(results: readonly StreamResult[], cell: StreamResult): number | null {
  const direct = results.find((other) => other.workload === cell.workload && other.target === 'direct');
  if (!cell.seconds.ok || !direct?.seconds.ok || direct.seconds.value === 0) return null;
  return cell.seconds.value / direct.seconds.value;
}

function formatRatio(value: number | null): string {
  return value === null ? 'n/a' : `${value.toFixed(2)}x`;
}

function formatReport(results: readonly StreamResult[], rows: number): string {
  const table = [
    '| workload | target | seconds | rows/s | vs direct |',
    '| --- | --- | ---: | ---: | ---: |',
    ...results.map((cell) => {
      const seconds = cell.seconds.ok ? cell.seconds.value.toFixed(2) : 'error';
      const rate = cell.seconds.ok && cell.seconds.value > 0 ? Math.round(rows / cell.seconds.value) : null;
      const rowsPerSecond = rate === null ? 'n/a' : rate.toLocaleString('en-US');
      return `| ${cell.workload} | ${cell.target} | ${seconds} | ${rowsPerSecond} | ${formatRatio(ratioToDirect(results, cell))} |`;
    }),
  ];
  const checks = results.flatMap((cell) => {
    if (cell.target === 'direct') return [];
    const ratio = ratioToDirect(results, cell);
    const verdict = (limit: number): string =>
      ratio === null ? 'not measured' : ratio <= limit ? 'met' : 'MISSED';
    if (cell.target === 'airlock-columns') {
      return [`${cell.workload}: 2 masked columns, no content scanning vs direct: ${formatRatio(ratio)}`];
    }
    return cell.target === 'airlock-plain'
      ? [
          `${cell.workload}: no masking vs direct: ${formatRatio(ratio)} (target ≤ 1.2x of the foundation figure ` +
            `${FOUNDATION_RATIO.toFixed(2)}x → ≤ ${PLAIN_TARGET.toFixed(2)}x): ${verdict(PLAIN_TARGET)}`,
        ]
      : [
          `${cell.workload}: 2 masked columns + content scanning vs direct: ${formatRatio(ratio)} ` +
            `(target ≤ ${MASKED_TARGET.toFixed(2)}x): ${verdict(MASKED_TARGET)}`,
        ];
  });
  const errors = results.flatMap((cell) =>
    cell.seconds.ok ? [] : [`  ${cell.target}, ${cell.workload}: ${cell.seconds.error}`],
  );
  return [...table, '', ...checks, ...(errors.length > 0 ? ['', 'Errors:', ...errors] : [])].join('\n');
}

/** Writes the run as bench/results/<timestamp>-masking.json (gitignored); returns the path. */
async function writeJson(
  startedAt: Date,
  meta: BenchOptions & Record<string, unknown>,
  results: readonly StreamResult[],
): Promise<string> {
  const dir = fileURLToPath(new URL('./results', import.meta.url));
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `${startedAt.toISOString().replaceAll(':', '-')}-masking.json`);
  const rows = meta.rows;
  const body = {
    startedAt: startedAt.toISOString(),
    ...meta,
    targets: { plainOverDirect: PLAIN_TARGET, maskedOverDirect: MASKED_TARGET },
    results: results.map((cell) => ({
      ...cell,
      rowsPerSecond: cell.seconds.ok && cell.seconds.value > 0 ? rows / cell.seconds.value : null,
      overDirect: ratioToDirect(results, cell),
    })),
  };
  await writeFile(file, `${JSON.stringify(body, null, 2)}\n`);
  return file;
}

async function main(): Promise<void> {
  const options = readOptions();
  const startedAt = new Date();
  installCleanup(cleanup);

  const { server, direct } = await startBenchPostgres('512MB');
  const { user, password } = direct;
  log(`loading ${options.rows} rows into public.customers as ${user}`);
  await loadCustomers(server, direct, options.rows);
  const serverVersion = await query(direct, 'SHOW server_version');

  log('starting airlock serve with roles plain, columns and masked');
  const gateway = await startAirlock({
    upstreamPort: direct.port,
    database: direct.database,
    user,
    password,
    rolesYaml: rolesYaml(options.classes),
    tokenRoles: ['plain', 'columns', 'masked'],
  });
  cleanups.push(gateway.stop);
  const viaRole = (role: 'plain' | 'columns' | 'masked'): BenchTarget => {
    const token = gateway.tokens.get(role);
    if (token === undefined) throw new Error(`no token issued for role ${role}`);
    return { name: `airlock-${role}`, host: '127.0.0.1', port: gateway.port, ...token };
  };
  const targets = new Map<TargetName, BenchTarget>([
    ['direct', direct],
    ['airlock-plain', viaRole('plain')],
    ['airlock-columns', viaRole('columns')],
    ['airlock-masked', viaRole('masked')],
  ]);
  await checkMasking(direct, viaRole('plain'), viaRole('masked'));

  const results = await measure(targets, options);
  const cpu = os.cpus();
  const machine = `${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB`;
  process.stdout.write(
    [
      '',
      `public.customers, ${options.rows} rows; best of ${options.repeats} per cell; stdout discarded; airlock-masked scans for ${options.classes.join(', ')}`,
      `${machine}; PostgreSQL ${serverVersion}; Node ${process.version}; one run`,
      '',
      formatReport(results, options.rows),
      '',
    ].join('\n'),
  );
  const meta = { machine, node: process.version, postgres: serverVersion, ...options };
  log(`JSON copy: ${await writeJson(startedAt, meta, results)}`);
}

try {
  await main();
} catch (error) {
  log(`failed: ${message(error)}`);
  process.exitCode = 1;
} finally {
  await cleanup();
}
