/** What `airlock login` prints: libpq environment lines, JSON, and GitHub `::add-mask::` commands. Pure. */
import { isLoopbackHost } from '../config/loopback-host.js';
import type { ConnectionInfo } from '../identity/connection-info.js';
import { printableExcerpt } from './printable-excerpt.js';

/**
 * Characters an env value may hold: read literally by `$GITHUB_ENV` and GitLab dotenv files, and
 * needing no quoting when the file is sourced by sh (no space, quote, `$`, backtick, `~`, `;`…). A
 * newline in particular would let a value inject another variable into later steps.
 */
const SAFE_ENV_VALUE = /^[A-Za-z0-9_.:/@%+,=-]+$/;

/** libpq's sslmode for the connection: the requested one, else disable for loopback and verify-full otherwise. */
export function chooseSslmode(host: string, requested: string | null): string {
  return requested ?? (isLoopbackHost(host) ? 'disable' : 'verify-full');
}

/**
 * The libpq variables (https://www.postgresql.org/docs/current/libpq-envars.html) plus the token's id,
 * expiry and, when it has one, its run id (what a last step sends to `POST /v1/runs/<run id>/revoke`).
 */
export function buildLoginEnv(info: ConnectionInfo, sslmode: string): Readonly<Record<string, string>> {
  return {
    PGHOST: info.host,
    PGPORT: String(info.port),
    PGUSER: info.user,
    PGPASSWORD: info.password,
    PGDATABASE: info.database,
    PGSSLMODE: sslmode,
    AIRLOCK_TOKEN_ID: info.tokenId,
    AIRLOCK_TOKEN_EXPIRES_AT: info.expiresAt,
    ...(info.runId === null ? {} : { AIRLOCK_RUN_ID: info.runId }),
  };
}

/**
 * `NAME=value` lines, one per variable, for `>> "$GITHUB_ENV"`, a dotenv file, or `set -a; . file`.
 * Throws when a value could not be written that way safely.
 */
export function formatEnvLines(env: Readonly<Record<string, string>>): string {
  for (const [name, value] of Object.entries(env)) {
    if (!SAFE_ENV_VALUE.test(value)) {
      // The value itself may be the secret: name the variable only.
      throw new Error(
        `the gateway returned a ${name} value that cannot be written as a plain NAME=value line (empty, or characters outside A-Z a-z 0-9 _ . : / @ % + , = -); use --format json`,
      );
    }
  }
  return Object.entries(env)
    .map(([name, value]) => `${name}=${value}\n`)
    .join('');
}

/**
 * `::add-mask::` workflow commands for every form of the secret that could reach a log: the
 * password, its URL-encoded form, and the connection URL. GitHub replaces each with `***` in every
 * later line of the job, including the `env:` listing it prints above each step.
 */
export function githubMaskCommands(info: ConnectionInfo): string {
  const values = new Set([info.password, encodeURIComponent(info.password), info.url]);
  return [...values].map((value) => `::add-mask::${escapeCommandData(value)}\n`).join('');
}

/** The ConnectionInfo (its psql line using the chosen sslmode) plus `sslmode` and the `env` object. */
export function formatLoginJson(
  info: ConnectionInfo,
  sslmode: string,
  env: Readonly<Record<string, string>>,
): string {
  const separator = info.url.includes('?') ? '&' : '?';
  const psql = `psql "${info.url}${separator}sslmode=${encodeURIComponent(sslmode)}"`;
  return `${JSON.stringify({ ...info, psql, sslmode, env }, null, 2)}\n`;
}

/** A one-line, secret-free account of what was granted, for the job log. */
export function describeLogin(info: ConnectionInfo): string {
  const run = info.runId === null ? '' : `, run ${info.runId}`;
  const line = `${info.tokenId} for ${info.subject} as role ${info.role} on ${info.database} until ${info.expiresAt}${run}`;
  // Claims from the CI platform flow into subject and run id: keep them on one line, never the secret.
  return `airlock: ${printableExcerpt(line, [info.password], 1000)}`;
}

/**
 * Escapes a workflow command's data as the runner unescapes it (% → %25, CR → %0D, LF → %0A), so
 * the masked value is exactly the secret
 * (https://docs.github.com/en/actions/reference/workflow-commands-for-github-actions#masking-a-value-in-a-log).
 */
function escapeCommandData(value: string): string {
  return value.replaceAll('%', '%25').replaceAll('\r', '%0D').replaceAll('\n', '%0A');
}
