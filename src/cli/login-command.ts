/** `airlock login --oidc github|gitlab`: a CI job trades its OIDC ID token for database access through the gateway. */
import { appendFileSync, fstatSync } from 'node:fs';
import type { Command } from 'commander';
import { type Environment, fetchGithubIdToken, readGitlabIdToken } from './ci-id-token.js';
import { type LoginCliOptions, LoginUsageError, resolveLoginPlan } from './login-options.js';
import {
  buildLoginEnv,
  chooseSslmode,
  describeLogin,
  formatEnvLines,
  formatLoginJson,
  githubMaskCommands,
} from './login-output.js';
import { exchangeIdToken } from './token-exchange-client.js';

export { LoginUsageError } from './login-options.js';

/** The process around a login, injected so tests can run it in-process. */
export interface LoginIo {
  readonly env: Environment;
  readonly writeStdout: (text: string) => void;
  readonly writeStderr: (text: string) => void;
  /** True when standard output is a regular file, i.e. redirected (`>> "$GITHUB_ENV"`, `> airlock.env`). */
  readonly stdoutIsFile: boolean;
  readonly appendFile: (path: string, text: string) => void;
}

/** Registers `airlock login` on the program. */
export function registerLoginCommand(program: Command): void {
  program
    .command('login')
    .description(
      "exchange this CI job's OIDC ID token at the gateway for a short-lived database login (PG* variables)",
    )
    .requiredOption('--oidc <platform>', 'CI platform that issues the ID token: github or gitlab')
    .requiredOption(
      '--gateway <url>',
      "the gateway's HTTP API, e.g. https://airlock.example.com (http only for loopback hosts)",
    )
    .option('--audience <aud>', "audience of the ID token (the gateway's trust: audience)", 'airlock')
    .option('--format <format>', 'env: NAME=value lines; json: the connection details plus env', 'env')
    .option('--id-token-env <name>', 'GitLab: the variable your id_tokens: entry defines', 'AIRLOCK_ID_TOKEN')
    .option('--sslmode <mode>', 'PGSSLMODE (default: verify-full; disable when the gateway host is loopback)')
    .option('--timeout <duration>', 'give up after this long, e.g. 20s', '20s')
    .option(
      '--github-env',
      'GitHub Actions: append the env lines to $GITHUB_ENV and print only ::add-mask:: commands and a summary',
    )
    .action(async (options: LoginCliOptions) => {
      await runLogin(options, processLoginIo());
    });
}

/**
 * Gets the job's ID token, exchanges it and writes the result. On GitHub Actions every form of the
 * secret is announced with `::add-mask::` before the secret is written anywhere; in CI, env lines
 * are never printed to the job log (standard output must be a file, or --github-env is used). The
 * ID token itself is never written anywhere.
 */
export async function runLogin(options: LoginCliOptions, io: LoginIo): Promise<void> {
  const plan = resolveLoginPlan(options);
  const onGithub = io.env.GITHUB_ACTIONS === 'true';
  const githubEnvFile = io.env.GITHUB_ENV;
  if (plan.githubEnv && !githubEnvFile) {
    throw new LoginUsageError('--github-env: $GITHUB_ENV is not set; it works only in a GitHub Actions step');
  }
  if (
    plan.format === 'env' &&
    !plan.githubEnv &&
    !io.stdoutIsFile &&
    (onGithub || io.env.GITLAB_CI === 'true')
  ) {
    throw new LoginUsageError(
      onGithub
        ? 'the env lines hold the database password and would be printed to the job log: add --github-env, or redirect them with >> "$GITHUB_ENV"'
        : 'the env lines hold the database password and would be printed to the job log (GitLab cannot mask it): redirect them to a private file, e.g. > "$(mktemp)", and load it with set -a; . FILE; set +a (see docs/ci.md)',
    );
  }

  // One deadline for the whole login: token request, exchange, and reading both answers.
  const signal = AbortSignal.timeout(plan.timeoutMs);
  const deadline = { signal, timeoutText: plan.timeoutText };
  const idToken =
    plan.provider === 'github'
      ? await fetchGithubIdToken(io.env, { audience: plan.audience, ...deadline })
      : readGitlabIdToken(io.env, plan.idTokenEnv, plan.audience);
  const info = await exchangeIdToken(plan.exchangeUrl, idToken, deadline);

  const sslmode = chooseSslmode(info.host, plan.sslmode);
  const env = buildLoginEnv(info, sslmode);
  const output = plan.format === 'json' ? formatLoginJson(info, sslmode, env) : formatEnvLines(env);
  const masks = onGithub ? githubMaskCommands(info) : '';
  if (plan.githubEnv && githubEnvFile) {
    // Standard output is the job log, the channel GitHub documents for workflow commands: the
    // masks go there, the secret only into the file the runner reads after the step.
    io.writeStdout(masks);
    io.appendFile(githubEnvFile, output);
    io.writeStdout(`${describeLogin(info)}; ${Object.keys(env).join(', ')} set for the next steps\n`);
    return;
  }
  // Standard output is the data (a file, or a program reading JSON): masks and the summary go to
  // standard error, whose workflow commands the GitHub runner processes as well.
  io.writeStderr(masks);
  io.writeStdout(output);
  io.writeStderr(`${describeLogin(info)}\n`);
}

function processLoginIo(): LoginIo {
  return {
    env: process.env,
    writeStdout: (text) => {
      if (text !== '') process.stdout.write(text);
    },
    writeStderr: (text) => {
      if (text !== '') process.stderr.write(text);
    },
    stdoutIsFile: isRegularFile(1),
    appendFile: (path, text) => appendFileSync(path, text, { mode: 0o600 }),
  };
}

function isRegularFile(fd: number): boolean {
  try {
    return fstatSync(fd).isFile();
  } catch {
    return false;
  }
}
