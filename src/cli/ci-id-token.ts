/** Gets the running CI job's OIDC ID token: from GitHub's token endpoint, or from GitLab's `id_tokens` variable. */
import { fetchBounded } from './bounded-fetch.js';
import { LoginUsageError, parseHttpUrl } from './login-options.js';
import { printableExcerpt } from './printable-excerpt.js';

/** Environment variables, as in process.env. */
export type Environment = Readonly<Record<string, string | undefined>>;

/** The audience to ask for, and the login's deadline. */
export interface IdTokenRequest {
  readonly audience: string;
  readonly signal: AbortSignal;
  readonly timeoutText: string;
}

/**
 * Asks GitHub Actions for an ID token for `audience`: GET `$ACTIONS_ID_TOKEN_REQUEST_URL&audience=…`
 * with `Authorization: Bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN`, answered by `{"value": "<jwt>"}`
 * (https://docs.github.com/en/actions/security-for-github-actions/security-hardening-your-deployments/about-security-hardening-with-openid-connect).
 */
export async function fetchGithubIdToken(env: Environment, request: IdTokenRequest): Promise<string> {
  const requestUrl = env.ACTIONS_ID_TOKEN_REQUEST_URL;
  const requestToken = env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
  if (!requestUrl || !requestToken) {
    throw new LoginUsageError(
      'ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set: GitHub gives a job an ID token only with `permissions: id-token: write` (in the workflow or the job), and never to pull requests from forks',
    );
  }
  parseHttpUrl(requestUrl, 'ACTIONS_ID_TOKEN_REQUEST_URL');
  // The URL normally carries ?api-version=…; append rather than rebuild it so the rest stays byte for byte.
  const separator = requestUrl.includes('?') ? '&' : '?';
  const url = new URL(`${requestUrl}${separator}audience=${encodeURIComponent(request.audience)}`);
  const response = await fetchBounded(url, {
    method: 'GET',
    headers: { authorization: `Bearer ${requestToken}`, accept: 'application/json' },
    signal: request.signal,
    peer: "GitHub's ID token endpoint",
    timeoutText: request.timeoutText,
  });
  const secrets = [requestToken];
  if (response.status !== 200) {
    throw new Error(
      `GitHub did not issue an ID token (HTTP ${response.status}${response.location === null ? '' : ', a redirect, not followed'}): ${printableExcerpt(response.text, secrets, 300) || 'no message'}`,
    );
  }
  let value: unknown;
  try {
    value = (JSON.parse(response.text) as { value?: unknown } | null)?.value;
  } catch {
    value = undefined;
  }
  if (typeof value !== 'string' || !looksLikeJwt(value)) {
    throw new Error(`GitHub's ID token endpoint answered without a token ({"value": "<jwt>"} expected)`);
  }
  return value;
}

/**
 * Reads the ID token GitLab put in `variable` (an `id_tokens:` entry of the job) and checks that it
 * is a JWT for `audience`, so that a mismatch is explained here rather than refused by the gateway.
 * The token's content is never part of a message.
 */
export function readGitlabIdToken(env: Environment, variable: string, audience: string): string {
  const token = env[variable]?.trim();
  const example = `id_tokens: { ${variable}: { aud: ${audience} } }`;
  if (!token) {
    throw new LoginUsageError(
      `$${variable} is not set: give the job an ID token with \`${example}\` in .gitlab-ci.yml (or name your variable with --id-token-env)`,
    );
  }
  const claims = looksLikeJwt(token) ? decodeJwtClaims(token) : null;
  if (claims === null) {
    throw new LoginUsageError(`$${variable} does not hold a JWT; define it with \`${example}\``);
  }
  const aud = claims.aud;
  const audiences = Array.isArray(aud) ? aud : [aud];
  if (!audiences.includes(audience)) {
    throw new LoginUsageError(
      `the ID token in $${variable} is for audience ${JSON.stringify(aud ?? null)}, not ${JSON.stringify(audience)}: set \`${example}\` (or pass the gateway's audience with --audience)`,
    );
  }
  return token;
}

/** Three base64url parts separated by dots (header.payload.signature). */
function looksLikeJwt(text: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(text);
}

/** The payload of a JWT, unverified (only to explain a wrong audience; the gateway verifies). */
function decodeJwtClaims(jwt: string): Record<string, unknown> | null {
  try {
    const payload: unknown = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8'));
    return typeof payload === 'object' && payload !== null && !Array.isArray(payload)
      ? (payload as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}
