/** `airlock login` options checked and resolved before anything touches the network. */
import { parseDuration } from '../config/duration.js';
import { checkSecureUrl } from '../config/secure-url.js';

/** A mistake the pipeline author fixes in the command line or the job definition: exit 2. */
export class LoginUsageError extends Error {
  override readonly name = 'LoginUsageError';
}

/** The CI platforms whose ID tokens `airlock login` knows how to obtain. */
export type CiProvider = 'github' | 'gitlab';
/** `env`: NAME=value lines; `json`: the connection details plus an env object. */
export type LoginFormat = 'env' | 'json';

/** libpq's sslmode values (https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-CONNECT-SSLMODE). */
const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;
/** A login that has not finished in this long is stuck, whatever --timeout says. */
const MAX_TIMEOUT_MS = 10 * 60_000;

/** The command line as commander hands it over. */
export interface LoginCliOptions {
  readonly oidc: string;
  readonly gateway: string;
  readonly audience: string;
  readonly format: string;
  readonly idTokenEnv: string;
  readonly sslmode?: string;
  readonly timeout: string;
  readonly githubEnv?: boolean;
}

/** What to do, validated. */
export interface LoginPlan {
  readonly provider: CiProvider;
  /** `<gateway>/v1/token/exchange`. */
  readonly exchangeUrl: URL;
  readonly audience: string;
  readonly format: LoginFormat;
  readonly idTokenEnv: string;
  /** Null: verify-full, or disable when the returned host is loopback. */
  readonly sslmode: string | null;
  readonly timeoutMs: number;
  /** The --timeout text, for messages. */
  readonly timeoutText: string;
  readonly githubEnv: boolean;
}

/** Checks every option; throws LoginUsageError naming the option and how to fix it. */
export function resolveLoginPlan(options: LoginCliOptions): LoginPlan {
  if (options.oidc !== 'github' && options.oidc !== 'gitlab') {
    throw new LoginUsageError(
      `--oidc: "${options.oidc}" is not a supported CI platform; use github or gitlab`,
    );
  }
  if (options.format !== 'env' && options.format !== 'json') {
    throw new LoginUsageError(`--format: "${options.format}" is not a format; use env or json`);
  }
  if (options.audience.trim() === '') throw new LoginUsageError('--audience must not be empty');
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(options.idTokenEnv)) {
    throw new LoginUsageError(`--id-token-env: "${options.idTokenEnv}" is not an environment variable name`);
  }
  if (options.sslmode !== undefined && !(SSL_MODES as readonly string[]).includes(options.sslmode)) {
    throw new LoginUsageError(`--sslmode: "${options.sslmode}" is not one of ${SSL_MODES.join(', ')}`);
  }
  if (options.githubEnv && options.format !== 'env') {
    throw new LoginUsageError('--github-env writes env lines; it cannot be combined with --format json');
  }
  return {
    provider: options.oidc,
    exchangeUrl: exchangeUrlOf(options.gateway),
    audience: options.audience,
    format: options.format,
    idTokenEnv: options.idTokenEnv,
    sslmode: options.sslmode ?? null,
    timeoutMs: parseTimeout(options.timeout),
    timeoutText: options.timeout,
    githubEnv: options.githubEnv === true,
  };
}

/**
 * The exchange endpoint under `gateway` (a path prefix is kept: https://host/airlock →
 * https://host/airlock/v1/token/exchange). https only; http is accepted for loopback hosts, where
 * nothing crosses a network, so that tests and a gateway on the runner itself work.
 */
export function exchangeUrlOf(gateway: string): URL {
  const url = parseHttpUrl(gateway, '--gateway');
  if (url.search !== '' || url.hash !== '') {
    throw new LoginUsageError(`--gateway: give the gateway's base URL without ?query or #fragment`);
  }
  const base = url.pathname.endsWith('/') ? url.pathname : `${url.pathname}/`;
  return new URL(`${base}v1/token/exchange`, url);
}

/**
 * Parses an http(s) URL that a secret will be sent to: https, or http to a loopback host; no
 * user:password part (it would be sent along and could end up in messages).
 */
export function parseHttpUrl(text: string, what: string): URL {
  const check = checkSecureUrl(text);
  if (check.ok) return check.url;
  switch (check.problem) {
    case 'not-a-url':
      throw new LoginUsageError(`${what}: "${text}" is not a URL; write e.g. https://airlock.example.com`);
    case 'credentials':
      throw new LoginUsageError(`${what}: the URL must not contain a user name or password`);
    case 'plain-http':
      throw new LoginUsageError(
        `${what}: ${check.url?.origin} is plain http; the ID token and the database credential would cross the network unencrypted. Use https (http is accepted only for loopback hosts)`,
      );
    default:
      throw new LoginUsageError(`${what}: ${check.url?.protocol} URLs are not supported; use https`);
  }
}

function parseTimeout(text: string): number {
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch (error) {
    throw new LoginUsageError(`--timeout: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (ms <= 0 || ms > MAX_TIMEOUT_MS) {
    throw new LoginUsageError(`--timeout: ${text} is out of range; give a duration from 1ms to 10m`);
  }
  return ms;
}
