/** Parses an upstream's postgres:// URL, refusing passwords written into it (secrets must not sit in the file). */
import type { ConfigIssue } from './config-error.js';
import { substituteString } from './env-substitution.js';
import { isValidHost } from './host-port.js';

/** Where and as whom the gateway connects; `password` only when the URL carried a `${VAR}` password. */
export interface UpstreamAddress {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  readonly password: string | null;
}

const SCHEME = /^postgres(?:ql)?:\/\//i;
const ENV_REFERENCE = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/;
const URL_SHAPE = 'write postgres://USER@HOST[:PORT]/DATABASE';

/**
 * Parses the URL as written in the file (before `${VAR}` substitution), so a literal password can be told
 * apart from a `${VAR}` one. A `${VAR}` password is taken from the environment verbatim (no percent-encoding).
 * Error messages never quote the URL, which may carry a secret.
 */
export function parseUpstreamUrl(
  rawUrl: string,
  env: NodeJS.ProcessEnv,
  key: string,
):
  | { readonly ok: true; readonly address: UpstreamAddress }
  | { readonly ok: false; readonly issues: ConfigIssue[] } {
  const fail = (problem: string, fix: string) => ({ ok: false as const, issues: [{ key, problem, fix }] });
  const scheme = SCHEME.exec(rawUrl);
  if (scheme === null) return fail('is not a postgres:// or postgresql:// URL', URL_SHAPE);

  // Userinfo runs to the last '@', as in the WHATWG parser; a password containing '/' must not hide from this check.
  const rest = rawUrl.slice(scheme[0].length);
  const at = rest.lastIndexOf('@');
  const userinfo = at < 0 ? '' : rest.slice(0, at);
  const colon = userinfo.indexOf(':');
  const rawPassword = colon < 0 ? '' : userinfo.slice(colon + 1);
  let passwordVariable: string | null = null;
  if (rawPassword !== '') {
    const reference = ENV_REFERENCE.exec(rawPassword);
    if (reference === null) {
      return fail(
        'contains a password; secrets must not sit in the config file',
        `remove it from the URL; set ${key.replace(/\.url$/, '.password')}: \${DB_PASSWORD} and export DB_PASSWORD`,
      );
    }
    passwordVariable = reference[1] ?? null;
  }
  const withoutPassword = colon < 0 ? rawUrl : `${scheme[0]}${userinfo.slice(0, colon)}${rest.slice(at)}`;

  const substituted = substituteString(withoutPassword, env);
  if (!substituted.ok) return { ok: false, issues: substituted.problems.map((p) => ({ key, ...p })) };
  let password: string | null = null;
  if (passwordVariable !== null) {
    password = env[passwordVariable] ?? null;
    if (password === null) return fail(`environment variable ${passwordVariable} is not set`, 'export it');
  }

  let url: URL;
  try {
    url = new URL(substituted.text);
  } catch {
    return fail('is not a valid URL', `${URL_SHAPE} (percent-encode reserved characters)`);
  }
  const issues: ConfigIssue[] = [];
  const add = (problem: string, fix: string) => issues.push({ key, problem, fix });
  const user = decodeComponent(url.username);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  const port = url.port === '' ? 5432 : Number(url.port);
  const database = url.pathname.includes('/', 1) ? null : decodeComponent(url.pathname.slice(1));
  if (user === null || user === '')
    add('names no user', `${URL_SHAPE}; USER is the database role the gateway logs in as`);
  if (!isValidHost(host)) add('has no valid host', URL_SHAPE);
  if (port < 1) add('has port 0', 'use the upstream server port (default 5432)');
  if (database === null || database === '') add('must name exactly one database in its path', URL_SHAPE);
  if (url.search !== '' || url.hash !== '') {
    add(
      'has query parameters or a fragment, which are not supported',
      'remove them; set TLS with tls: and the timeout with connect_timeout: on the upstream',
    );
  }
  if (issues.length > 0) return { ok: false, issues };
  return { ok: true, address: { host, port, database: database ?? '', user: user ?? '', password } };
}

function decodeComponent(text: string): string | null {
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}
