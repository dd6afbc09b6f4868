/** `airlock` entry point: builds the command tree, runs it, and turns errors into messages and exit codes. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { AuditSearchError } from '../audit/audit-search.js';
import { ConfigError } from '../config/load-config.js';
import { TokenRequestError } from '../identity/issue-token.js';
import { ApprovalUsageError, registerApprovalCommands } from './approval-commands.js';
import { AuditUsageError, registerAuditCommands } from './audit-commands.js';
import { registerDemoCommand } from './demo-command.js';
import { LoginUsageError, registerLoginCommand } from './login-command.js';
import { PolicyUsageError, registerPolicyCommands } from './policy-commands.js';
import { registerServeCommand } from './serve-command.js';
import { registerTokenCommands } from './token-commands.js';

/** Exit code for mistakes the user can fix by changing the command line or the config. */
const EXIT_USAGE = 2;
/** Exit code for everything else that went wrong. */
const EXIT_FAILURE = 1;

const program = new Command('airlock')
  .description(
    'Database gateway for AI agents: short-lived tokens, least privilege, audit, masking, approval.',
  )
  .version(readPackageVersion(), '-V, --version', 'print the airlock version');

registerTokenCommands(program);
registerLoginCommand(program);
registerApprovalCommands(program);
registerAuditCommands(program);
registerPolicyCommands(program);
registerServeCommand(program);
registerDemoCommand(program);
throwInsteadOfExiting(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  process.exitCode = reportError(error);
}

/** Prints a user-facing message for `error` (no stack traces unless AIRLOCK_DEBUG is set); returns the exit code. */
function reportError(error: unknown): number {
  // Commander has already printed its own message (or the help/version text).
  if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : EXIT_USAGE;
  const message = error instanceof Error ? error.message : String(error);
  const isUsage =
    error instanceof ConfigError ||
    error instanceof TokenRequestError ||
    error instanceof PolicyUsageError ||
    error instanceof AuditUsageError ||
    error instanceof ApprovalUsageError ||
    error instanceof LoginUsageError ||
    error instanceof AuditSearchError;
  // Multi-line messages (a ConfigError lists every issue) keep their lines aligned under the prefix.
  process.stderr.write(`airlock: ${message.replaceAll('\n', '\n  ')}\n`);
  if (!isUsage && process.env.AIRLOCK_DEBUG && error instanceof Error && error.stack) {
    process.stderr.write(`${error.stack}\n`);
  }
  return isUsage ? EXIT_USAGE : EXIT_FAILURE;
}

/** Makes every command (including ones added with addCommand) throw CommanderError instead of exiting. */
function throwInsteadOfExiting(command: Command): void {
  command.exitOverride();
  for (const sub of command.commands) throwInsteadOfExiting(sub);
}

/** The version in the nearest package.json named airlock (works from src/ under tsx and from dist/). */
function readPackageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'airlock' && typeof pkg.version === 'string') return pkg.version;
    }
    const parent = dirname(dir);
    if (parent === dir) return '0.0.0-unknown';
    dir = parent;
  }
}
