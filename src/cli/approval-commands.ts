/** `airlock approvals list|show|approve|deny`: reviewers work the approval queue from a shell, on the configured store. */
import type { Command } from 'commander';
import { keyMatchesHash } from '../api/auditor-auth.js';
import type { ApprovalDesk, DecisionProblem, ListApprovalsOptions } from '../approvals/approval-desk.js';
import { APPROVAL_ID_EXAMPLE, isApprovalId } from '../approvals/approval-id.js';
import { parseApprovalListQuery } from '../approvals/approval-list-query.js';
import { describeApproval } from '../approvals/approval-view.js';
import { decisionReasonProblem } from '../approvals/decision-reason.js';
import { openApprovalDesk } from '../approvals/open-approval-desk.js';
import type { AirlockConfig, ReviewerConfig } from '../config/config-types.js';
import { loadConfigFile } from '../config/load-config.js';
import { formatApprovalDetail, formatApprovalTable } from './approval-text.js';
import { withRecordedStore } from './with-recorded-store.js';

const DEFAULT_CONFIG_PATH = './airlock.yaml';

/** Where a reviewer's key comes from: the environment, never argv (shell history and `ps` would show it). */
export const REVIEWER_KEY_VARIABLE = 'AIRLOCK_REVIEWER_KEY';

/** A mistake on the command line or in the reviewer's key: exit 2, the message says what to change. */
export class ApprovalUsageError extends Error {
  override readonly name = 'ApprovalUsageError';
}

/** The desk refused the decision (already decided, the agent's own identity …): exit 1 with its message. */
export class ApprovalRefusedError extends Error {
  override readonly name = 'ApprovalRefusedError';
  constructor(
    readonly problem: DecisionProblem,
    message: string,
  ) {
    super(message);
  }
}

/** Where a command prints (stdout in the CLI; an array in tests). */
export interface CommandOutput {
  print(text: string): void;
}

/** `approvals list` as typed. */
export interface ListCommandOptions {
  readonly status?: string;
  readonly all?: boolean;
  readonly limit?: string;
  readonly json?: boolean;
}

/** One reviewer's decision as typed on the command line (the reviewer already proved by key). */
export interface DecisionCommand {
  readonly id: string;
  readonly reviewer: string;
  readonly verdict: 'approve' | 'deny';
  readonly reason: string;
}

/** The desk query `list` options ask for: pending unless --status or --all says otherwise. */
export function readListOptions(options: ListCommandOptions): ListApprovalsOptions {
  if (options.all && options.status !== undefined) {
    throw new ApprovalUsageError('give --status or --all, not both');
  }
  const query = parseApprovalListQuery({ status: options.status, limit: options.limit }, (f) => `--${f}`);
  if (!query.ok) throw new ApprovalUsageError(query.message);
  return options.all ? query.options : { status: 'pending', ...query.options };
}

/** Prints the requests `query` selects: a table, or a JSON array of ApprovalView with `json`. */
export async function listApprovals(
  desk: ApprovalDesk,
  query: ListApprovalsOptions,
  options: { readonly json?: boolean; readonly now: number },
  output: CommandOutput,
): Promise<void> {
  const views = (await desk.list(query)).map(describeApproval);
  if (options.json) {
    output.print(JSON.stringify(views, null, 2));
  } else if (views.length === 0) {
    output.print(
      query.status === undefined
        ? 'no approval requests'
        : `no ${query.status} approval requests${query.status === 'pending' ? ' (--all shows decided ones)' : ''}`,
    );
  } else {
    output.print(formatApprovalTable(views, options.now));
  }
}

/** Refuses (exit 2) text that cannot be an approval id, before any file is opened. */
export function checkApprovalId(id: string): void {
  if (!isApprovalId(id)) {
    throw new ApprovalUsageError(
      `${JSON.stringify(id)} is not an approval request id; ids look like ${APPROVAL_ID_EXAMPLE}`,
    );
  }
}

/** Prints one request in full, or as one ApprovalView with `json`; an unknown id is an error (exit 1). */
export async function showApproval(
  desk: ApprovalDesk,
  id: string,
  options: { readonly json?: boolean; readonly now: number },
  output: CommandOutput,
): Promise<void> {
  const request = await desk.get(id);
  if (request === undefined) {
    throw new Error(`no approval request ${id}; \`airlock approvals list --all\` shows the ids`);
  }
  const view = describeApproval(request);
  output.print(options.json ? JSON.stringify(view, null, 2) : formatApprovalDetail(view, options.now));
}

/**
 * Checks that `key` (from AIRLOCK_REVIEWER_KEY) is the key of the configured reviewer `reviewer`,
 * in constant time; throws ApprovalUsageError otherwise. The key is never part of a message.
 */
export function checkReviewerKey(
  reviewers: Readonly<Record<string, ReviewerConfig>>,
  reviewer: string,
  key: string | undefined,
): void {
  if (key === undefined || key === '') {
    throw new ApprovalUsageError(
      `set ${REVIEWER_KEY_VARIABLE} to your reviewer key first, e.g. read -rs ${REVIEWER_KEY_VARIABLE} && export ${REVIEWER_KEY_VARIABLE} ` +
        '(it is never taken on the command line, where shell history and ps would show it)',
    );
  }
  const config = Object.hasOwn(reviewers, reviewer) ? reviewers[reviewer] : undefined;
  if (config === undefined) {
    const known = Object.keys(reviewers);
    throw new ApprovalUsageError(
      `${REVIEWER_KEY_VARIABLE} is not the key of reviewer ${reviewer}: no reviewer of that name is configured ` +
        `(${known.length === 0 ? 'the config has no reviewers section' : `reviewers: ${known.join(', ')}`})`,
    );
  }
  if (!keyMatchesHash(key, config.keySha256)) {
    throw new ApprovalUsageError(`${REVIEWER_KEY_VARIABLE} is not the key of reviewer ${reviewer}`);
  }
}

/** Refuses (exit 2) a reason the desk would refuse: a denial without one, or one too long. */
export function checkDecisionReason(verdict: 'approve' | 'deny', reason: string): void {
  const problem = decisionReasonProblem(verdict, reason);
  if (problem !== undefined) throw new ApprovalUsageError(`--reason: ${problem}`);
}

/** Records the decision and says where the request stands; a refusal throws ApprovalRefusedError (exit 1). */
export async function decideApproval(
  desk: ApprovalDesk,
  decision: DecisionCommand,
  output: CommandOutput,
): Promise<void> {
  const { id, reviewer, verdict, reason } = decision;
  const result = await desk.decide(id, reviewer, verdict, reason);
  if (!result.ok) throw new ApprovalRefusedError(result.problem, result.message);
  const view = describeApproval(result.request);
  if (verdict === 'deny') {
    output.print(`denied ${id} as ${reviewer}; the statement does not run and the agent is told why`);
    return;
  }
  const count = `${view.approvals} of ${view.approversRequired} approvals`;
  if (view.status === 'approved') {
    output.print(`approved ${id} as ${reviewer} (${count}); the held statement may run now`);
  } else if (view.status === 'pending') {
    const missing = view.approversRequired - view.approvals;
    output.print(
      `approved ${id} as ${reviewer} (${count}); it waits for ${missing} more reviewer${missing === 1 ? '' : 's'}`,
    );
  } else {
    output.print(`approved ${id} as ${reviewer} (${count}); the request is now ${view.status}`);
  }
}

interface ConfigOption {
  readonly config: string;
}

interface DecideOptions extends ConfigOption {
  readonly reviewer: string;
  readonly reason?: string;
}

const stdout: CommandOutput = { print: (text) => process.stdout.write(`${text}\n`) };

/** Registers `airlock approvals` and its subcommands on the program. */
export function registerApprovalCommands(program: Command): void {
  const approvals = program
    .command('approvals')
    .description('list, read, approve and deny statements held for a human (works on the store directly)');

  withConfigOption(approvals.command('list'))
    .description('list approval requests, newest first (default: the pending ones)')
    .option('--status <status>', 'only this status: pending, approved, denied, expired, withdrawn, abandoned')
    .option('--all', 'every status')
    .option('--limit <n>', 'at most this many, 1 to 1000 (default 100)')
    .option('--json', 'print a JSON array of the requests')
    .action(async (options: ListCommandOptions & ConfigOption) => {
      const query = readListOptions(options);
      await withApprovalDesk(loadConfig(options), (desk) =>
        listApprovals(desk, query, { json: options.json, now: Date.now() }, stdout),
      );
    });

  withConfigOption(approvals.command('show'))
    .description('show one request in full: who asks, why, the exact SQL and its bound values')
    .argument('<id>', `the request id, e.g. ${APPROVAL_ID_EXAMPLE}`)
    .option('--json', 'print the request as one JSON object')
    .action(async (id: string, options: ConfigOption & { readonly json?: boolean }) => {
      checkApprovalId(id);
      await withApprovalDesk(loadConfig(options), (desk) =>
        showApproval(desk, id, { json: options.json, now: Date.now() }, stdout),
      );
    });

  for (const verdict of ['approve', 'deny'] as const) {
    const command = withConfigOption(approvals.command(verdict))
      .description(
        verdict === 'approve'
          ? `approve a held statement as a reviewer (your key in ${REVIEWER_KEY_VARIABLE})`
          : `deny a held statement as a reviewer (your key in ${REVIEWER_KEY_VARIABLE}); the agent is told the reason`,
      )
      .argument('<id>', `the request id, e.g. ${APPROVAL_ID_EXAMPLE}`)
      .requiredOption('--reviewer <name>', 'your name under reviewers: in the config');
    if (verdict === 'approve') command.option('--reason <text>', 'why (recorded in the audit trail)');
    else command.requiredOption('--reason <text>', 'why (the agent and the audit trail are told)');
    command.action(async (id: string, options: DecideOptions) => {
      const reason = options.reason ?? '';
      checkApprovalId(id);
      checkDecisionReason(verdict, reason);
      const config = loadConfig(options);
      checkReviewerKey(config.reviewers, options.reviewer, process.env[REVIEWER_KEY_VARIABLE]);
      await withApprovalDesk(config, (desk) =>
        decideApproval(desk, { id, reviewer: options.reviewer, verdict, reason }, stdout),
      );
    });
  }
}

function withConfigOption(command: Command): Command {
  return command.option('--config <path>', 'configuration file', DEFAULT_CONFIG_PATH);
}

function loadConfig(options: ConfigOption): AirlockConfig {
  // The database password is for the running gateway; a reviewer's shell needs no upstream secret.
  return loadConfigFile(options.config, process.env, { upstreamSecrets: 'ignored' });
}

/**
 * Runs `run` with the desk on the configured store and an audit log on it (decisions are audited).
 * The log is flushed before the store closes, also when `run` failed after recording.
 */
async function withApprovalDesk(
  config: AirlockConfig,
  run: (desk: ApprovalDesk) => Promise<void>,
): Promise<void> {
  await withRecordedStore(config, (store, audit) =>
    run(openApprovalDesk({ store, config, audit, now: Date.now })),
  );
}
