/** `airlock audit search`: find audit events by who, run, session, table, kind, decision, SQL text and time. */
import type { Command } from 'commander';
import { formatAuditEventLine } from '../audit/audit-event-line.js';
import {
  type AuditSearchField,
  type AuditSearchInput,
  type AuditSearchQuery,
  encodeAuditCursor,
  parseAuditSearch,
} from '../audit/audit-search.js';
import { canonicalJson } from '../audit/canonical-json.js';
import { loadConfigFile } from '../config/load-config.js';
import { openStore } from '../store/open-store.js';

const DEFAULT_CONFIG_PATH = './airlock.yaml';

interface SearchOptions {
  readonly config: string;
  readonly instance?: string;
  readonly subject?: string;
  readonly role?: string;
  readonly token?: string;
  readonly run?: string;
  readonly session?: string;
  readonly table?: string;
  readonly kind?: string[];
  readonly decision?: string;
  readonly text?: string;
  readonly since?: string;
  readonly until?: string;
  readonly limit?: string;
  readonly order?: string;
  readonly cursor?: string;
  readonly json?: boolean;
}

/** The command-line option of each search field, so errors name what the user typed. */
const OPTION_OF: Record<AuditSearchField, keyof SearchOptions> = {
  instance: 'instance',
  subject: 'subject',
  role: 'role',
  tokenId: 'token',
  runId: 'run',
  sessionId: 'session',
  kind: 'kind',
  table: 'table',
  decision: 'decision',
  text: 'text',
  since: 'since',
  until: 'until',
  limit: 'limit',
  order: 'order',
  cursor: 'cursor',
};

/** Registers `search` under `airlock audit`. */
export function registerAuditSearchCommand(audit: Command): void {
  audit
    .command('search')
    .description('find stored audit events (newest first); every filter given must match')
    .option('--config <path>', 'configuration file; reads its store', DEFAULT_CONFIG_PATH)
    .option('--instance <name>', 'only this gateway instance (default: every instance)')
    .option('--subject <subject>', 'who the token was issued for (exact)')
    .option('--role <role>', 'the token’s role (exact)')
    .option('--token <tokenId>', 'the token id (exact)')
    .option('--run <runId>', 'the CI run id the token was issued with (exact)')
    .option('--session <sessionId>', 'one session (exact)')
    .option('--table <[schema.]table>', 'statements on this table; a bare name matches it in any schema')
    .option('--kind <kind,…>', 'event kinds (repeatable or a comma list)', collect, [])
    .option('--decision <decision>', 'statements decided allow, deny or approve')
    .option('--text <text>', 'statements whose SQL contains this text (case-insensitive, literal)')
    .option('--since <ISO-8601>', 'events at or after this time, e.g. 2024-05-01 or 2024-05-01T12:00:00Z')
    .option('--until <ISO-8601>', 'events before this time')
    .option('--limit <n>', 'events to show, 1 to 1000 (default 100)')
    .option('--order <order>', 'newest (default) or oldest first')
    .option('--cursor <cursor>', 'continue where the previous search stopped (printed on stderr)')
    .option('--json', 'print a JSON array of the events exactly as stored (with hashes)')
    .action(async (options: SearchOptions) => {
      await runSearch(options);
    });
}

async function runSearch(options: SearchOptions): Promise<void> {
  // Validated before the config is read: a typo is reported even without a config at hand.
  const query = parseOptions(options);
  const config = loadConfigFile(options.config, process.env, { upstreamSecrets: 'ignored' });
  const store = openStore(config.store);
  let page: Awaited<ReturnType<typeof store.searchAudit>>;
  try {
    page = await store.searchAudit(query);
  } finally {
    await store.close();
  }
  if (options.json) {
    process.stdout.write(
      page.events.length === 0 ? '[]\n' : `[\n${page.events.map((e) => canonicalJson(e)).join(',\n')}\n]\n`,
    );
  } else if (page.events.length === 0) {
    process.stdout.write('no matching audit events\n');
  } else {
    for (const event of page.events) process.stdout.write(`${formatAuditEventLine(event)}\n`);
  }
  if (page.nextCursor !== null) {
    process.stderr.write(
      `airlock: more events match; continue with --cursor ${encodeAuditCursor(page.nextCursor)}\n`,
    );
  }
}

/** The query the options describe; an AuditSearchError (exit 2) names the option at fault. */
function parseOptions(options: SearchOptions): AuditSearchQuery {
  const input: { -readonly [K in AuditSearchField]?: string | readonly string[] } = {};
  for (const [field, option] of Object.entries(OPTION_OF) as [AuditSearchField, keyof SearchOptions][]) {
    const value = options[option];
    if (typeof value === 'string' || Array.isArray(value)) input[field] = value;
  }
  return parseAuditSearch(input as AuditSearchInput, (field) => `--${OPTION_OF[field]}`);
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
