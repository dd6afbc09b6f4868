/** `airlock audit verify|export|search`: check the stored (or an exported) audit trail; write it out as JSONL; find events. */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { ChainedAuditEvent } from '../audit/audit-event.js';
import type { AuditCheckpoint } from '../audit/checkpoint.js';
import { exportJsonl, parseJsonl } from '../audit/jsonl-export.js';
import { auditPublicKeyPath } from '../audit/signing-key.js';
import { type VerifyReport, verifyAuditTrail } from '../audit/verify-chain.js';
import type { AirlockConfig } from '../config/config-types.js';
import { loadConfigFile } from '../config/load-config.js';
import { openStore } from '../store/open-store.js';
import type { Store } from '../store/store.js';
import { registerAuditSearchCommand } from './audit-search-command.js';

const DEFAULT_CONFIG_PATH = './airlock.yaml';

/** The command line asks for something impossible; the message says what to change (exit 2). */
export class AuditUsageError extends Error {
  override readonly name = 'AuditUsageError';
}

interface VerifyOptions {
  readonly config?: string;
  readonly instance?: string;
  readonly from?: string;
  readonly file?: string;
  readonly publicKey?: string;
}

interface ExportOptions {
  readonly config: string;
  readonly instance?: string;
  readonly format: string;
  readonly since?: string;
  readonly out?: string;
}

/** Registers `airlock audit` and its subcommands on the program. */
export function registerAuditCommands(program: Command): void {
  const audit = program
    .command('audit')
    .description('verify and export the tamper-evident audit trail (no running gateway needed)');

  audit
    .command('verify')
    .description('check every link and checkpoint signature; exit 0 when intact, 1 at the first break')
    .option('--config <path>', `configuration file (default ${DEFAULT_CONFIG_PATH}); reads its store`)
    .option('--instance <name>', 'gateway instance whose chain to check (default: audit.instance)')
    .option('--from <seq>', 'start at this seq, trusting the signed checkpoint just before it')
    .option('--file <export.jsonl>', 'verify an exported file instead of the store (needs --public-key)')
    .option('--public-key <file>', 'the Ed25519 public key (PEM) that signed the checkpoints')
    .action(async (options: VerifyOptions) => {
      process.exitCode = await runVerify(options);
    });

  audit
    .command('export')
    .description('write events, hashes and checkpoints for offline verification by a third party')
    .option('--config <path>', 'configuration file', DEFAULT_CONFIG_PATH)
    .option('--instance <name>', 'gateway instance whose chain to export (default: audit.instance)')
    .option('--format <format>', 'output format (only jsonl)', 'jsonl')
    .option('--since <ISO-8601>', 'only events from this time on (plus the run back to a checkpoint)')
    .option('--out <file>', 'write to this file instead of stdout')
    .action(async (options: ExportOptions) => {
      await runExport(options);
    });

  registerAuditSearchCommand(audit);
}

async function runVerify(options: VerifyOptions): Promise<number> {
  const from = options.from === undefined ? undefined : parseSeq(options.from);
  if (options.file !== undefined) {
    if (options.config !== undefined) throw new AuditUsageError('give either --file or --config, not both');
    if (options.publicKey === undefined) {
      throw new AuditUsageError(
        '--file needs --public-key <file>: the key in the export itself proves nothing',
      );
    }
    const publicKeyPem = readTextFile(options.publicKey, '--public-key');
    const trail = parseJsonl(readTextFile(options.file, '--file'));
    const instance = options.instance ?? trail.header.instance;
    // A partial export (--since) starts after a checkpoint; anchor there unless told otherwise.
    const firstSeq = trail.events[0]?.seq ?? 1;
    const start = from ?? (firstSeq > 1 ? firstSeq : undefined);
    const report = verifyAuditTrail({
      ...trail,
      publicKeyPem,
      instance,
      ...(start === undefined ? {} : { from: start }),
    });
    return printReport(report, instance);
  }
  return withConfiguredStore(options.config ?? DEFAULT_CONFIG_PATH, async (store, config) => {
    const instance = options.instance ?? config.audit.instance;
    const publicKeyPem = readTextFile(
      auditPublicKeyPath(config.audit.signingKeyPath),
      'the audit public key',
    );
    let trail = await store.readAudit({ instance, ...(from === undefined ? {} : { fromSeq: from }) });
    let report = verifyTrail(trail, publicKeyPem, instance, from);
    if (from !== undefined && report.startedAtSeq !== from) {
      process.stderr.write(
        `airlock: no valid checkpoint at seq ${from - 1} to start from; verifying from seq 1\n`,
      );
      trail = await store.readAudit({ instance });
      report = verifyTrail(trail, publicKeyPem, instance, undefined);
    }
    return printReport(report, instance);
  });
}

function verifyTrail(
  trail: { events: ChainedAuditEvent[]; checkpoints: AuditCheckpoint[] },
  publicKeyPem: string,
  instance: string,
  from: number | undefined,
): VerifyReport {
  return verifyAuditTrail({ ...trail, publicKeyPem, instance, ...(from === undefined ? {} : { from }) });
}

/** Prints the outcome; returns the exit code (0 intact, 1 broken). */
function printReport(report: VerifyReport, instance: string): number {
  if (!report.ok) {
    const broken = report.firstBroken;
    const where = broken === undefined ? 'an unknown seq' : `seq ${broken.seq}`;
    print(
      `audit trail of "${instance}" is BROKEN at ${where}: ${broken?.problem ?? 'unknown'} (${broken?.detail ?? ''})`,
    );
    print(
      `  intact before it: ${report.checkedEvents} events, last checkpoint at seq ${report.lastVerifiedSeq}`,
    );
    return 1;
  }
  if (report.checkedEvents === 0) {
    print(`no audit events for instance "${instance}"`);
    return 0;
  }
  const range =
    report.startedAtSeq > 1 ? ` (seq ${report.startedAtSeq} on, anchored by a signed checkpoint)` : '';
  let line = `verified ${report.checkedEvents} events of "${instance}"${range}, last checkpoint at seq ${report.lastVerifiedSeq}`;
  const tail = report.unverifiableTail;
  if (tail !== undefined) {
    line += `; events ${tail.fromSeq}..${tail.toSeq} are not yet covered by a checkpoint`;
  }
  print(line);
  return 0;
}

async function runExport(options: ExportOptions): Promise<void> {
  if (options.format !== 'jsonl') {
    throw new AuditUsageError(`--format ${options.format} is not supported; use --format jsonl`);
  }
  if (options.since !== undefined && Number.isNaN(Date.parse(options.since))) {
    throw new AuditUsageError(
      `--since ${options.since} is not a date; write ISO 8601, e.g. 2024-05-01T00:00:00Z`,
    );
  }
  await withConfiguredStore(options.config, async (store, config) => {
    const instance = options.instance ?? config.audit.instance;
    const publicKeyPem = readTextFile(
      auditPublicKeyPath(config.audit.signingKeyPath),
      'the audit public key',
    );
    let trail = await store.readAudit({ instance });
    if (options.since !== undefined) {
      const since = options.since;
      const firstSeq = (await store.readAudit({ instance, since })).events[0]?.seq;
      // Start right after the last checkpoint before --since, so the export verifies on its own.
      const anchor =
        trail.checkpoints.filter((c) => firstSeq !== undefined && c.seq < firstSeq).at(-1)?.seq ?? 0;
      trail =
        firstSeq === undefined
          ? { events: [], checkpoints: trail.checkpoints }
          : await store.readAudit({ instance, fromSeq: anchor + 1 });
    }
    const text = exportJsonl({ instance, publicKeyPem, ...trail });
    if (options.out === undefined) process.stdout.write(text);
    else writeFileSync(options.out, text, { mode: 0o600 });
  });
  return;
}

async function withConfiguredStore<T>(
  configPath: string,
  run: (store: Store, config: AirlockConfig) => Promise<T>,
): Promise<T> {
  const config = loadConfigFile(configPath, process.env, { upstreamSecrets: 'ignored' });
  const store = openStore(config.store);
  try {
    return await run(store, config);
  } finally {
    await store.close();
  }
}

function parseSeq(text: string): number {
  const seq = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(seq) || seq < 1) {
    throw new AuditUsageError(`--from ${text} is not a sequence number; write a whole number >= 1`);
  }
  return seq;
}

function readTextFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new AuditUsageError(
      code === 'ENOENT'
        ? `${what}: ${path} does not exist${what === 'the audit public key' ? ' (it is written next to audit.signing_key when the key is created)' : ''}`
        : `${what}: cannot read ${path} (${code})`,
    );
  }
}

function print(text: string): void {
  process.stdout.write(`${text}\n`);
}
