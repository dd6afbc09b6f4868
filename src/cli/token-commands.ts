/** `airlock token issue|list|revoke`: token administration straight on the configured store. */
import type { Command } from 'commander';
import type { AuditLog } from '../audit/audit-log.js';
import type { AirlockConfig } from '../config/config-types.js';
import { parseDuration } from '../config/duration.js';
import { loadConfigFile } from '../config/load-config.js';
import { buildConnectionInfo } from '../identity/connection-info.js';
import { issueToken, TokenRequestError } from '../identity/issue-token.js';
import { revokeRun } from '../identity/revoke-run.js';
import type { Store, TokenRecord } from '../store/store.js';
import { formatTextTable, truncateText } from './text-table.js';
import { withRecordedStore } from './with-recorded-store.js';

const DEFAULT_CONFIG_PATH = './airlock.yaml';

interface ConfigOption {
  readonly config: string;
}

interface IssueOptions extends ConfigOption {
  readonly role: string;
  readonly subject: string;
  readonly reason: string;
  readonly ttl?: string;
  readonly runId?: string;
  readonly json?: boolean;
}

interface ListOptions extends ConfigOption {
  readonly all?: boolean;
  readonly json?: boolean;
}

/** Registers `airlock token` and its subcommands on the program. */
export function registerTokenCommands(program: Command): void {
  const token = program
    .command('token')
    .description(
      'issue, list and revoke agent tokens (works on the store directly; no running gateway needed)',
    );

  withConfigOption(token.command('issue'))
    .description('issue a short-lived token and print how to connect with it')
    .requiredOption('--role <role>', 'role the agent acts as (a key under roles: in the config)')
    .requiredOption(
      '--subject <who>',
      'who the token is for, e.g. alice@example.com or github:acme/shop:ci.yml',
    )
    .requiredOption('--reason <why>', 'why it is needed, e.g. "PR #42: fix order totals"')
    .option('--ttl <duration>', 'lifetime, e.g. 15m or 2h (default: tokens.default_ttl in the config)')
    .option('--run-id <id>', 'CI run or agent session this token belongs to')
    .option('--json', 'print one JSON object with the connection details and nothing else')
    .action(async (options: IssueOptions) => {
      await runIssue(options);
    });

  withConfigOption(token.command('list'))
    .description('list live tokens (never their secrets)')
    .option('--all', 'include expired and revoked tokens')
    .option('--json', 'print a JSON array')
    .action(async (options: ListOptions) => {
      await runList(options);
    });

  withConfigOption(token.command('revoke'))
    .description('revoke a token, or every token of a CI run; sessions using them are ended by the gateway')
    .argument('[tokenId]', 'id of the token, e.g. at_…')
    .option('--run <runId>', 'revoke every live token of this CI run (a pipeline’s last step)')
    .action(async (tokenId: string | undefined, options: ConfigOption & { run?: string }) => {
      if ((tokenId === undefined) === (options.run === undefined)) {
        throw new TokenRequestError('give either a token id or --run <run id>');
      }
      if (options.run !== undefined) await runRevokeRun(options.run, options);
      else await runRevoke(tokenId ?? '', options);
    });
}

function withConfigOption(command: Command): Command {
  return command.option('--config <path>', 'configuration file', DEFAULT_CONFIG_PATH);
}

async function runIssue(options: IssueOptions): Promise<void> {
  const ttlMs = options.ttl === undefined ? undefined : parseTtl(options.ttl);
  await withStore(options, async (store, config, audit) => {
    const issued = await issueToken(
      { store, config, now: Date.now },
      {
        role: options.role,
        subject: options.subject,
        reason: options.reason,
        ttlMs,
        runId: options.runId ?? null,
      },
    );
    // Never the secret: who, why, and what the token grants.
    await audit.record({
      kind: 'token.issued',
      who: { tokenId: issued.tokenId, subject: issued.subject, role: issued.role },
      why: { reason: issued.reason, runId: issued.runId },
      what: { expiresAt: new Date(issued.expiresAt).toISOString(), upstream: issued.upstream },
    });
    const info = buildConnectionInfo(issued, config.listen.advertise ?? config.listen.postgres);
    if (options.json) {
      print(JSON.stringify(info, null, 2));
      return;
    }
    print(
      [
        `Issued ${info.tokenId} for ${info.subject}`,
        `  role:     ${info.role}`,
        `  upstream: ${info.database}`,
        `  expires:  ${info.expiresAt} (in ${formatRemaining(issued.expiresAt - issued.issuedAt)})`,
        ...(info.runId === null ? [] : [`  run id:   ${info.runId}`]),
        '',
        'Connect with:',
        `  ${info.psql}`,
        '',
        'Connection URL (holds the secret; it is shown only now and is not stored):',
        `  ${info.url}`,
      ].join('\n'),
    );
  });
}

async function runList(options: ListOptions): Promise<void> {
  await withStore(options, async (store) => {
    const now = Date.now();
    const records = await store.listTokens({ includeInactive: options.all === true, now });
    if (options.json) {
      print(
        JSON.stringify(
          records.map((record) => describeToken(record, now)),
          null,
          2,
        ),
      );
      return;
    }
    if (records.length === 0) {
      print(options.all ? 'no tokens' : 'no live tokens (--all includes expired and revoked ones)');
      return;
    }
    const header = ['ID', 'ROLE', 'SUBJECT', 'REASON', 'EXPIRES', 'STATUS'];
    const rows = records.map((record) => [
      record.tokenId,
      record.role,
      truncateText(record.subject, 32),
      truncateText(record.reason, 40),
      new Date(record.expiresAt).toISOString(),
      tokenStatus(record, now),
    ]);
    print(formatTextTable([header, ...rows]));
  });
}

async function runRevoke(tokenId: string, options: ConfigOption): Promise<void> {
  await withStore(options, async (store, config, audit) => {
    const record = await store.getToken(tokenId);
    if (record === undefined) {
      throw new Error(
        `no token ${tokenId} in ${config.store.path}; \`airlock token list --all\` shows the ids`,
      );
    }
    if (record.revokedAt !== null) {
      print(`${tokenId} was already revoked at ${new Date(record.revokedAt).toISOString()}`);
      return;
    }
    await store.revokeToken(tokenId, Date.now());
    await audit.record({
      kind: 'token.revoked',
      who: { tokenId, subject: record.subject, role: record.role },
      why: { reason: record.reason, runId: record.runId },
      what: { expiresAt: new Date(record.expiresAt).toISOString(), upstream: record.upstream },
    });
    print(`revoked ${tokenId}`);
  });
}

async function runRevokeRun(runId: string, options: ConfigOption): Promise<void> {
  await withStore(options, async (store, _config, audit) => {
    const revoked = await revokeRun({ store, audit, now: Date.now }, runId, 'cli');
    print(
      revoked.length === 0
        ? `no live token of run ${runId}`
        : `revoked ${revoked.length} token${revoked.length === 1 ? '' : 's'} of run ${runId}: ${revoked.join(', ')}`,
    );
  });
}

/** The command's config (without the gateway's secrets), then its store and audit log. */
async function withStore(
  options: ConfigOption,
  run: (store: Store, config: AirlockConfig, audit: AuditLog) => Promise<void>,
): Promise<void> {
  const config = loadConfigFile(options.config, process.env, { upstreamSecrets: 'ignored' });
  await withRecordedStore(config, (store, audit) => run(store, config, audit));
}

function parseTtl(text: string): number {
  try {
    return parseDuration(text);
  } catch (error) {
    throw new TokenRequestError(`--ttl: ${error instanceof Error ? error.message : String(error)}`);
  }
}

type TokenStatus = 'live' | 'expired' | 'revoked';

function tokenStatus(record: TokenRecord, now: number): TokenStatus {
  if (record.revokedAt !== null) return 'revoked';
  return now >= record.expiresAt ? 'expired' : 'live';
}

/** The listing form of a token: everything but the verifier, times as ISO strings. */
function describeToken(record: TokenRecord, now: number) {
  return {
    tokenId: record.tokenId,
    role: record.role,
    upstream: record.upstream,
    subject: record.subject,
    reason: record.reason,
    runId: record.runId,
    issuedAt: new Date(record.issuedAt).toISOString(),
    expiresAt: new Date(record.expiresAt).toISOString(),
    revokedAt: record.revokedAt === null ? null : new Date(record.revokedAt).toISOString(),
    status: tokenStatus(record, now),
  };
}

function formatRemaining(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  if (minutes < 1) return `${Math.round(ms / 1000)}s`;
  if (minutes < 120) return `${minutes}m`;
  return `${Math.round(minutes / 60)}h`;
}

function print(text: string): void {
  process.stdout.write(`${text}\n`);
}
