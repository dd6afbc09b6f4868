/** `airlock policy check|lint`: see what a role may run and why, and find rules that cannot take effect. */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { AirlockConfig, RoleConfig } from '../config/config-types.js';
import { loadConfigFile } from '../config/load-config.js';
import { decideAnalysis } from '../policy/decide.js';
import { formatQualifiedName, quoteIdentifier } from '../policy/identifier-text.js';
import { lintRolePolicy, type PolicyFinding, referencedObjects } from '../policy/lint-policy.js';
import type { PolicyDecision, StatementFacts } from '../policy/policy-types.js';

const DEFAULT_CONFIG_PATH = './airlock.yaml';

/** Exit codes of `policy check`: teams assert them in CI. Usage and config errors exit 2 (main.ts). */
const CHECK_EXIT_CODES: Readonly<Record<PolicyDecision['action'], number>> = {
  allow: 0,
  deny: 1,
  approve: 3,
};
/** `policy lint` exits 1 when it has findings. */
const EXIT_FINDINGS = 1;

/** A mistake on the command line (an unknown role, an unreachable --database-url): exit 2. */
export class PolicyUsageError extends Error {
  override readonly name = 'PolicyUsageError';
}

interface CheckOptions {
  readonly config: string;
  readonly role: string;
  readonly json?: boolean;
}

interface LintOptions {
  readonly config: string;
  readonly role?: string;
  readonly databaseUrl?: string;
}

/** Registers `airlock policy` and its subcommands on the program. */
export function registerPolicyCommands(program: Command): void {
  const policy = program
    .command('policy')
    .description("test roles' SQL policy: what a statement would do, and rules that cannot take effect");

  policy
    .command('check')
    .description(
      'decide a statement as the gateway would; exit 0 allow, 1 deny, 3 needs approval, 2 usage error',
    )
    .option('--config <path>', 'configuration file', DEFAULT_CONFIG_PATH)
    .requiredOption('--role <role>', 'role the statement is judged for (a key under roles: in the config)')
    .option('--json', 'print one JSON object: {decision, statements}')
    .argument('<sql>', 'the SQL text (several statements allowed); - reads it from standard input')
    .action(async (sql: string, options: CheckOptions) => {
      await runCheck(sql === '-' ? readFileSync(0, 'utf8') : sql, options);
    });

  policy
    .command('lint')
    .description('report rules that can never match and, with --database-url, names that do not exist')
    .option('--config <path>', 'configuration file', DEFAULT_CONFIG_PATH)
    .option('--role <role>', 'lint only this role (default: every role)')
    .option('--database-url <url>', 'postgres:// URL of the database to look the named tables up in')
    .action(async (options: LintOptions) => {
      await runLint(options);
    });
}

async function runCheck(sql: string, options: CheckOptions): Promise<void> {
  const config = loadPolicyConfig(options.config);
  const role = findRole(config, options.role);
  // Loaded only here, so other commands never load the parser (WASM).
  const [{ loadSqlParser }, { analyzeSql }] = await Promise.all([
    import('../policy/sql-parser.js'),
    import('../policy/analyze-sql.js'),
  ]);
  await loadSqlParser();
  const analysis = analyzeSql(sql, role.policy.searchPath);
  const decision = decideAnalysis(analysis, role.policy);
  const statements = analysis.ok ? analysis.statements : [];
  if (options.json) {
    print(JSON.stringify({ decision, statements }, null, 2));
  } else {
    print(formatCheck(decision, statements, analysis.ok));
  }
  process.exitCode = CHECK_EXIT_CODES[decision.action];
}

async function runLint(options: LintOptions): Promise<void> {
  const config = loadPolicyConfig(options.config);
  const roles = options.role === undefined ? Object.values(config.roles) : [findRole(config, options.role)];
  const findings: PolicyFinding[] = [];
  for (const role of roles) findings.push(...lintRolePolicy(role.policy));
  if (options.databaseUrl !== undefined) {
    findings.push(...(await findMissingObjects(roles, options.databaseUrl)));
  }
  for (const finding of findings) print(`${finding.key}: ${finding.problem}`);
  const checked = `${roles.length} ${roles.length === 1 ? 'role' : 'roles'}`;
  if (findings.length === 0) {
    print(`no findings in ${checked}`);
    return;
  }
  print(`${findings.length} ${findings.length === 1 ? 'finding' : 'findings'} in ${checked}`);
  process.exitCode = EXIT_FINDINGS;
}

/** The config without upstream passwords: neither command connects to an upstream. */
function loadPolicyConfig(path: string): AirlockConfig {
  return loadConfigFile(path, process.env, { upstreamSecrets: 'ignored' });
}

function findRole(config: AirlockConfig, name: string): RoleConfig {
  const role = Object.hasOwn(config.roles, name) ? config.roles[name] : undefined;
  if (role === undefined) {
    const defined = Object.keys(config.roles).sort().join(', ');
    throw new PolicyUsageError(`unknown role ${JSON.stringify(name)}; defined roles: ${defined}`);
  }
  return role;
}

function formatCheck(
  decision: PolicyDecision,
  statements: readonly StatementFacts[],
  analysed: boolean,
): string {
  const lines =
    decision.action === 'allow'
      ? ['allow']
      : [
          `${decision.action === 'approve' ? 'needs approval' : 'deny'}: ${decision.reason}`,
          `  rule: ${decision.rule}`,
          `  hint: ${decision.hint}`,
        ];
  if (!analysed) lines.push('', 'no facts: the SQL could not be analysed');
  statements.forEach((facts, index) => {
    lines.push('', `statement ${index + 1}: ${facts.kind} (${facts.effect})`);
    lines.push(
      `  tables:    ${listOrNone(facts.accesses.map((a) => `${a.operation} ${formatQualifiedName(a.relation)}`))}`,
    );
    lines.push(`  functions: ${listOrNone(facts.functions.map(formatQualifiedName))}`);
    lines.push(
      `  features:  ${listOrNone(facts.features.map((f) => (f.detail === undefined ? f.feature : `${f.feature} ${f.detail}`)))}`,
    );
  });
  return lines.join('\n');
}

function listOrNone(items: readonly string[]): string {
  return items.length === 0 ? 'none' : items.join(', ');
}

/** Named tables, schemas and functions of `roles` that the database at `url` does not have. */
async function findMissingObjects(roles: readonly RoleConfig[], url: string): Promise<PolicyFinding[]> {
  // Loaded only here: the rest of the CLI never needs a database driver.
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
  } catch (error) {
    throw new PolicyUsageError(
      `cannot connect to --database-url: ${(error as Error).message}; check the URL and that the database is up`,
    );
  }
  const answers = new Map<string, Promise<boolean>>();
  const exists = (sql: string, values: string[]): Promise<boolean> => {
    const cacheKey = JSON.stringify([sql, values]);
    let answer = answers.get(cacheKey);
    if (answer === undefined) {
      answer = client.query<{ found: boolean }>(sql, values).then((result) => result.rows[0]?.found === true);
      answers.set(cacheKey, answer);
    }
    return answer;
  };
  try {
    const findings: PolicyFinding[] = [];
    for (const role of roles) {
      const named = referencedObjects(role.policy);
      for (const { key, table } of named.tables) {
        // Both parts quoted: to_regclass then reads the names exactly as the rule resolved them.
        const text = `${quoteAlways(table.schema)}.${quoteAlways(table.name)}`;
        if (!(await exists('select to_regclass($1) is not null as found', [text]))) {
          findings.push({
            key,
            problem: `table ${formatQualifiedName(table)} does not exist in the database`,
          });
        }
      }
      for (const { key, schema } of named.schemas) {
        const sql = 'select exists (select 1 from pg_catalog.pg_namespace where nspname = $1) as found';
        if (!(await exists(sql, [schema]))) {
          findings.push({ key, problem: `schema ${quoteIdentifier(schema)} does not exist in the database` });
        }
      }
      for (const { key, function: name } of named.functions) {
        const sql =
          'select exists (select 1 from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace' +
          ' where n.nspname = $1 and p.proname = $2) as found';
        if (!(await exists(sql, [name.schema, name.name]))) {
          findings.push({
            key,
            problem: `function ${formatQualifiedName(name)} does not exist in the database`,
          });
        }
      }
    }
    return findings;
  } finally {
    await client.end();
  }
}

function quoteAlways(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function print(text: string): void {
  process.stdout.write(`${text}\n`);
}
