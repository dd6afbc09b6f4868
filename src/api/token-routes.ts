/**
 * `POST /v1/token/exchange` (a CI job's OIDC ID token → an Airlock token, as `airlock token issue --json`
 * prints it) and `POST /v1/runs/:runId/revoke` (a pipeline's last step ends its own run's access, proving
 * it holds one of the run's tokens with HTTP Basic `tokenId:secret`).
 */
import { type Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { ConnectionInfo } from '../identity/connection-info.js';
import type { ExchangeOutcome } from '../identity/exchange-ci-token.js';
import type { IssuedToken } from '../identity/issue-token.js';
import type { Logger } from '../observability/logger.js';

/** How a presented token relates to a run: it is one of its tokens, it belongs elsewhere, or it is not valid. */
export type RunTokenCheck = 'of-run' | 'other-run' | 'invalid';

export interface TokenApiDeps {
  /** False when no `trust` entries are configured: the exchange answers 404. */
  readonly exchangeEnabled: boolean;
  readonly exchange: (token: unknown) => Promise<ExchangeOutcome>;
  /** Connection details for an issued token, with the gateway address clients use. */
  readonly describe: (issued: IssuedToken) => ConnectionInfo;
  readonly checkRunToken: (tokenId: string, secret: string, runId: string) => Promise<RunTokenCheck>;
  readonly revokeRun: (runId: string, by: string) => Promise<string[]>;
  readonly logger?: Logger;
}

const MAX_EXCHANGE_BODY_BYTES = 32 * 1024;
const MAX_RUN_ID_LENGTH = 512;
const BASIC = /^Basic +([A-Za-z0-9+/=]+) *$/i;
const REALM = 'Basic realm="airlock-runs"';
const NO_STORE = { 'cache-control': 'no-store' };

/** The routes under /v1 for tokens (`/token/exchange`) and runs (`/runs/:runId/revoke`). */
export function createTokenRoutes(deps: TokenApiDeps) {
  const app = new Hono();

  app.post(
    '/token/exchange',
    bodyLimit({
      maxSize: MAX_EXCHANGE_BODY_BYTES,
      onError: (c) =>
        c.json({ error: `the body is larger than ${MAX_EXCHANGE_BODY_BYTES} bytes` }, 413, NO_STORE),
    }),
    async (c) => {
      if (!deps.exchangeEnabled) {
        return c.json(
          { error: 'token exchange is off: no trust entries are configured (see docs/ci.md)' },
          404,
          NO_STORE,
        );
      }
      const token = readTokenField(await c.req.text());
      if (token === undefined) {
        return c.json(
          { error: 'expected a JSON body {"token": "<the CI job\'s OIDC ID token>"}' },
          400,
          NO_STORE,
        );
      }
      const outcome = await deps.exchange(token);
      if (!outcome.ok) {
        deps.logger?.warn({ status: outcome.status, reason: outcome.reason }, 'token exchange refused');
        return c.json({ error: outcome.reason }, outcome.status, NO_STORE);
      }
      deps.logger?.info(
        { tokenId: outcome.issued.tokenId, role: outcome.issued.role, runId: outcome.issued.runId },
        'token exchanged',
      );
      return c.json(deps.describe(outcome.issued), 200, NO_STORE);
    },
  );

  app.post('/runs/:runId/revoke', async (c) => {
    const runId = c.req.param('runId');
    if (runId.length === 0 || runId.length > MAX_RUN_ID_LENGTH)
      return c.json({ error: 'no such run' }, 404, NO_STORE);
    const credentials = basicCredentials(c);
    if (credentials === undefined) {
      return c.json(
        { error: 'send one of the run’s tokens: Authorization: Basic base64(<token id>:<secret>)' },
        401,
        { ...NO_STORE, 'www-authenticate': REALM },
      );
    }
    const check = await deps.checkRunToken(credentials.tokenId, credentials.secret, runId);
    if (check === 'invalid') {
      return c.json({ error: 'invalid token id or secret' }, 401, { ...NO_STORE, 'www-authenticate': REALM });
    }
    if (check === 'other-run') {
      return c.json({ error: `token ${credentials.tokenId} does not belong to run ${runId}` }, 403, NO_STORE);
    }
    const revoked = await deps.revokeRun(runId, `token ${credentials.tokenId}`);
    deps.logger?.info({ runId, revoked: revoked.length, by: credentials.tokenId }, 'run revoked');
    return c.json({ runId, revoked }, 200, NO_STORE);
  });

  app.onError((error, c) => {
    deps.logger?.error({ err: String(error), path: c.req.path }, 'token api: request failed');
    return c.json({ error: 'the token API failed; see the gateway log' }, 500, NO_STORE);
  });
  return app;
}

/** The `token` of a body `{"token": "…"}` (no other keys), or undefined. */
function readTokenField(text: string): unknown | undefined {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return undefined;
  const keys = Object.keys(body);
  if (keys.length !== 1 || keys[0] !== 'token') return undefined;
  return (body as { token: unknown }).token;
}

function basicCredentials(c: Context): { tokenId: string; secret: string } | undefined {
  const match = BASIC.exec(c.req.header('authorization') ?? '');
  if (match === null) return undefined;
  const decoded = Buffer.from(match[1] ?? '', 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  return { tokenId: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
}
