import { describe, expect, it } from 'vitest';
import type { ExchangeOutcome } from '../identity/exchange-ci-token.js';
import type { IssuedToken } from '../identity/issue-token.js';
import { createTokenRoutes, type TokenApiDeps } from './token-routes.js';

const issued: IssuedToken = {
  tokenId: 'at_aaaaaaaaaaaaaaaaaaaa',
  secret: 'airlock_secret',
  role: 'reporting',
  upstream: 'shop',
  subject: 'github:acme/shop',
  reason: 'refs/heads/main',
  runId: '42.1',
  issuedAt: 0,
  expiresAt: 60_000,
};

function app(overrides: Partial<TokenApiDeps> = {}) {
  const revoked: string[] = [];
  const deps: TokenApiDeps = {
    exchangeEnabled: true,
    exchange: async (token): Promise<ExchangeOutcome> =>
      token === 'good'
        ? { ok: true, issued, binding: {} as never }
        : { ok: false, status: 403, reason: 'no trust binding matches' },
    describe: (t) => ({ user: t.tokenId, password: t.secret }) as never,
    checkRunToken: async (_tokenId, secret, runId) =>
      secret !== 'airlock_right' ? 'invalid' : runId === '42.1' ? 'of-run' : 'other-run',
    revokeRun: async (runId, by) => {
      revoked.push(`${runId} by ${by}`);
      return ['at_x'];
    },
    ...overrides,
  };
  return { routes: createTokenRoutes(deps), revoked };
}

const post = (routes: ReturnType<typeof app>['routes'], path: string, body: string, headers = {}) =>
  routes.request(path, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });

describe('token routes', () => {
  it('exchanges an ID token for connection details, never cached', async () => {
    const { routes } = app();
    const ok = await post(routes, '/token/exchange', JSON.stringify({ token: 'good' }));
    expect(ok.status).toBe(200);
    expect(ok.headers.get('cache-control')).toBe('no-store');
    expect(await ok.json()).toEqual({ user: issued.tokenId, password: issued.secret });
    const refused = await post(routes, '/token/exchange', JSON.stringify({ token: 'other' }));
    expect(refused.status).toBe(403);
    expect(await refused.json()).toEqual({ error: 'no trust binding matches' });
  });

  it('refuses bodies that are not exactly {"token": …}, oversize bodies, and answers 404 when off', async () => {
    const { routes } = app();
    for (const body of ['nope', '[]', '{}', '{"token":"good","role":"admin"}']) {
      expect((await post(routes, '/token/exchange', body)).status).toBe(400);
    }
    expect(
      (await post(routes, '/token/exchange', JSON.stringify({ token: 'x'.repeat(40_000) }))).status,
    ).toBe(413);
    const off = app({ exchangeEnabled: false }).routes;
    expect((await post(off, '/token/exchange', JSON.stringify({ token: 'good' }))).status).toBe(404);
  });

  it('lets a run revoke itself with one of its own tokens only', async () => {
    const { routes, revoked } = app();
    const basic = (secret: string) => ({
      authorization: `Basic ${Buffer.from(`${issued.tokenId}:${secret}`).toString('base64')}`,
    });
    const none = await post(routes, '/runs/42.1/revoke', '');
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Basic realm="airlock-runs"');
    expect((await post(routes, '/runs/42.1/revoke', '', basic('airlock_wrong'))).status).toBe(401);
    expect((await post(routes, '/runs/43.1/revoke', '', basic('airlock_right'))).status).toBe(403);
    const ok = await post(routes, '/runs/42.1/revoke', '', basic('airlock_right'));
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ runId: '42.1', revoked: ['at_x'] });
    expect(revoked).toEqual([`42.1 by token ${issued.tokenId}`]);
  });
});
