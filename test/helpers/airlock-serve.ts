/** Runs `airlock serve --config <file>` as a real child process (through tsx, from the sources) for e2e tests. */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { cleanEnv } from './real-postgres.js';

const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const READY_TIMEOUT_MS = 20_000;

/**
 * The first lines of a config for `airlock serve` in a test: both listeners on free ports, the store
 * next to the config, and upstream `shop` on the harness's server as its SCRAM user, whose password
 * the config takes from SHOP_DB_PASSWORD (pass it in the serve environment). Roles and the rest follow.
 */
export function serveConfigHead(db: {
  readonly port: number;
  readonly users: { readonly scram: { readonly user: string } };
}): string[] {
  return [
    'listen:',
    '  postgres: 127.0.0.1:0',
    '  http: 127.0.0.1:0',
    'store: sqlite:./airlock.db',
    'upstreams:',
    '  shop:',
    `    url: postgres://${db.users.scram.user}@127.0.0.1:${db.port}/shop`,
    // biome-ignore lint/suspicious/noTemplateCurlyInString: ${VAR} is the config loader's env substitution.
    '    password: ${SHOP_DB_PASSWORD}',
    '    tls: disable',
  ];
}

/** How the process ended. */
export interface ServeExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A running `airlock serve`, ready to accept agents. */
export interface ServeProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Where the PostgreSQL listener and the HTTP API listen (from the "ready" log line). */
  readonly postgresPort: number;
  readonly httpPort: number;
  /** Every JSON log line written to stdout so far. */
  readonly stdoutLines: string[];
  /** Everything written to stderr so far. */
  stderr(): string;
  readonly exited: Promise<ServeExit>;
  /** Sends `signal` (if still running) and waits for the exit; SIGKILLs when it takes longer than `timeoutMs`. */
  stop(signal: NodeJS.Signals, timeoutMs?: number): Promise<ServeExit>;
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/**
 * Starts `airlock serve` with `env` added to this process's environment (without PG* variables) and
 * resolves once it logs "airlock gateway ready"; rejects, with its stderr, when it exits first or
 * is not ready within 20 s (and then kills it).
 */
export async function startAirlockServe(
  configPath: string,
  env: NodeJS.ProcessEnv = {},
): Promise<ServeProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'serve', '--config', configPath], {
    cwd: PROJECT_ROOT,
    env: { ...cleanEnv(), AIRLOCK_DEBUG: '', NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stdoutLines: string[] = [];
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const exited = new Promise<ServeExit>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const stop = async (signal: NodeJS.Signals, timeoutMs = 10_000): Promise<ServeExit> => {
    if (!hasExited(child)) child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), timeoutMs);
    });
    const first = await Promise.race([exited, late]);
    clearTimeout(timer);
    if (first !== 'late') return first;
    child.kill('SIGKILL');
    return exited;
  };
  const ready = new Promise<{ postgres: number; http: number }>((resolve, reject) => {
    let buffered = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        stdoutLines.push(line);
        let entry: { msg?: string; postgres?: { port: number }; http?: { port: number } };
        try {
          entry = JSON.parse(line) as typeof entry;
        } catch {
          continue;
        }
        if (entry.msg === 'airlock gateway ready' && entry.postgres && entry.http) {
          resolve({ postgres: entry.postgres.port, http: entry.http.port });
        }
      }
    });
    void exited.then(({ code, signal }) =>
      reject(new Error(`airlock serve exited before it was ready (${code ?? signal}): ${stderr}`)),
    );
  });
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new Error(
            `airlock serve was not ready within ${READY_TIMEOUT_MS} ms (it needs log.level info or lower): ${stderr}`,
          ),
        ),
      READY_TIMEOUT_MS,
    );
  });
  try {
    const ports = await Promise.race([ready, timedOut]);
    return {
      child,
      pid: child.pid as number,
      postgresPort: ports.postgres,
      httpPort: ports.http,
      stdoutLines,
      stderr: () => stderr,
      exited,
      stop,
    };
  } catch (error) {
    await stop('SIGKILL');
    throw error;
  } finally {
    clearTimeout(timer);
  }
}
