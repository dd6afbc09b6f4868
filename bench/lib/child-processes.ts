/** Processes the bench starts (pgbench, psql, pgbouncer, airlock), and ending all of them on exit or Ctrl-C. */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { acceptsTcp } from '../../test/helpers/real-postgres.js';

/** Running children; true for daemons that lead their own process group. */
const live = new Map<ChildProcess, boolean>();
/** Set on Ctrl-C: from then on nothing new is started while the cleanup runs. */
let interrupted = false;

function refuseWhenInterrupted(file: string): void {
  if (interrupted) throw new Error(`not starting ${file}: the bench was interrupted`);
}

/** Output and wall time of a finished command. */
export interface Finished {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

function kill(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    // A daemon leads its own process group (e.g. runuser + pgbouncer): end the whole group.
    if (live.get(child)) process.kill(-child.pid, signal);
    else child.kill(signal);
  } catch {
    // Already gone.
  }
}

/** Sends SIGTERM to every process still running; synchronous, so it is safe in an 'exit' hook. */
export function killAllChildren(): void {
  for (const child of live.keys()) kill(child, 'SIGTERM');
}

/**
 * Ends children on exit, and on SIGINT/SIGTERM/SIGHUP runs `cleanup` (e.g. stop PostgreSQL) before
 * exiting with 130. Install before starting anything.
 */
export function installCleanup(cleanup: () => Promise<void>): void {
  process.on('exit', killAllChildren);
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write(`\n${signal}: stopping pgbench, pgbouncer, airlock and PostgreSQL…\n`);
    killAllChildren();
    cleanup().finally(() => process.exit(130));
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal);
}

/** Runs a command to completion; stdout is discarded (as `> /dev/null`) when `discardStdout` is set. */
export function runCommand(
  file: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; discardStdout?: boolean } = {},
): Promise<Finished> {
  return new Promise((resolve, reject) => {
    refuseWhenInterrupted(file);
    const started = performance.now();
    const child = spawn(file, args, {
      env: options.env ?? process.env,
      cwd: options.cwd,
      stdio: ['ignore', options.discardStdout ? 'ignore' : 'pipe', 'pipe'],
    });
    live.set(child, false);
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.once('error', (error) => {
      live.delete(child);
      reject(error);
    });
    child.once('close', (code) => {
      live.delete(child);
      resolve({ code, stdout, stderr, ms: performance.now() - started });
    });
  });
}

/** Like runCommand, but rejects with the command's stderr when it exits non-zero. */
export async function runChecked(
  file: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<string> {
  const result = await runCommand(file, args, options);
  if (result.code !== 0) {
    const detail = (result.stderr || result.stdout).trim().split('\n').slice(-15).join('\n');
    throw new Error(`${[file, ...args].join(' ')} exited with ${result.code}:\n${detail}`);
  }
  return result.stdout;
}

/** Starts a long-running server in its own process group, its output appended to `logFile`. */
export function startDaemon(
  file: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; logFile: string },
): ChildProcess {
  refuseWhenInterrupted(file);
  const log = openSync(options.logFile, 'a');
  try {
    const child = spawn(file, args, {
      env: options.env ?? process.env,
      cwd: options.cwd,
      detached: true,
      stdio: ['ignore', log, log],
    });
    live.set(child, true);
    child.once('exit', () => live.delete(child));
    return child;
  } finally {
    closeSync(log);
  }
}

/** Waits until `port` on 127.0.0.1 accepts connections; throws with the log tail if the daemon dies first. */
export async function waitForListening(
  child: ChildProcess,
  port: number,
  logFile: string,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const exited = child.exitCode !== null || child.signalCode !== null;
    if (exited || Date.now() > deadline) {
      const log = await readFile(logFile, 'utf8').catch(() => '');
      const tail = log.trimEnd().split('\n').slice(-20).join('\n');
      const what = exited ? `exited (code ${child.exitCode})` : `did not listen within ${timeoutMs / 1000} s`;
      throw new Error(`${child.spawnargs.join(' ')} ${what}. Log:\n${tail}`);
    }
    if (await acceptsTcp(port)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** SIGTERM to the daemon's process group, SIGKILL after `graceMs`; resolves once it has exited. */
export async function stopDaemon(child: ChildProcess, graceMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  kill(child, 'SIGTERM');
  const timer = setTimeout(() => kill(child, 'SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
