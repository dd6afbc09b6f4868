import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AuditEventBody } from '../audit/audit-event.js';
import { parseConfigText } from '../config/load-config.js';
import { SqliteStore } from '../store/sqlite-store.js';
import { type CiTokenChecks, exchangeCiToken } from './exchange-ci-token.js';
import type { VerifiedIdToken } from './oidc/id-token-verifier.js';
import type { TrustIssuer } from './oidc/trust-types.js';

const NOW = 1_800_000_000_000;
const config = parseConfigText(
  [
    'listen:',
    '  postgres: 127.0.0.1:6432',
    'store: "sqlite::memory:"',
    'upstreams:',
    '  shop: { url: postgres://gw@127.0.0.1:5432/shop, tls: disable }',
    'roles:',
    '  reporting: { upstream: shop }',
    'tokens: { max_ttl: 30m }',
  ].join('\n'),
  { baseDir: '/tmp', source: null, env: {} },
);

const issuer: TrustIssuer = {
  issuer: 'https://token.actions.githubusercontent.com',
  audience: 'airlock',
  keys: { kind: 'discovery' },
  algorithms: ['RS256'],
  clockSkewMs: 60_000,
  bindings: [
    {
      source: 'trust[0].bindings[0]',
      claims: [{ claim: 'repository', pattern: 'acme/shop' }],
      role: 'reporting',
      maxTtlMs: 60 * 60_000,
      subject: 'github:{repository}',
      runId: '{run_id}',
      reason: '{ref}',
    },
  ],
};

const claims = { repository: 'acme/shop', ref: 'refs/heads/main', run_id: '42', sub: 'repo:acme/shop' };

/** Checks that accept tokens named "good…", refuse others like the real verifier, and bind by repository. */
const checks: CiTokenChecks = {
  async verify(jwt: string): Promise<VerifiedIdToken> {
    if (jwt === 'keys-down')
      throw Object.assign(new Error('x'), { reason: 'keys unavailable', code: 'keys-unavailable' });
    if (!jwt.startsWith('good'))
      throw Object.assign(new Error('x'), { reason: 'bad signature', code: 'bad-signature' });
    return {
      issuer,
      claims: jwt === 'good-other' ? { ...claims, repository: 'acme/other' } : claims,
      expiresAt: NOW + 5 * 60_000,
      replayKey: `jti:${issuer.issuer}:${jwt}`,
    };
  },
  match(_issuer, c) {
    return c.repository === 'acme/shop'
      ? {
          ok: true,
          binding: issuer.bindings[0]!,
          subject: `github:${c.repository}`,
          runId: String(c.run_id),
          reason: String(c.ref),
        }
      : {
          ok: false,
          failures: [`trust[0].bindings[0]: repository "${c.repository}" does not match "acme/shop"`],
        };
  },
};

describe('exchangeCiToken', () => {
  let store: SqliteStore;
  let events: Omit<AuditEventBody, 'at'>[];
  let failAudit: boolean;
  const deps = () => ({
    store,
    config,
    checks,
    now: () => NOW,
    audit: {
      record: async (body: Omit<AuditEventBody, 'at'>) => {
        if (failAudit) throw new Error('disk full');
        events.push(body);
        return { seq: events.length };
      },
    },
  });
  beforeEach(() => {
    store = new SqliteStore(':memory:');
    events = [];
    failAudit = false;
  });
  afterEach(async () => {
    await store.close();
  });

  it('issues a token for the bound role, subject, run and reason, capped by tokens.max_ttl, and records it', async () => {
    const outcome = await exchangeCiToken(deps(), 'good-1');
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    expect(outcome.issued).toMatchObject({
      role: 'reporting',
      subject: 'github:acme/shop',
      runId: '42',
      reason: 'refs/heads/main',
      expiresAt: NOW + 30 * 60_000,
    });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      kind: 'token.exchanged',
      who: { tokenId: outcome.issued.tokenId, claims: { repository: 'acme/shop', run_id: '42' } },
      what: { outcome: 'issued', binding: 'trust[0].bindings[0]', idToken: `jti:${issuer.issuer}:good-1` },
    });
    expect(JSON.stringify(events)).not.toContain(outcome.issued.secret);
  });

  it('refuses a replay, a bad token, no binding and unavailable keys, each with its status, and records them', async () => {
    expect((await exchangeCiToken(deps(), 'good-1')).ok).toBe(true);
    expect(await exchangeCiToken(deps(), 'good-1')).toMatchObject({ ok: false, status: 409 });
    expect(await exchangeCiToken(deps(), 'forged')).toMatchObject({
      ok: false,
      status: 401,
      reason: 'bad signature',
    });
    expect(await exchangeCiToken(deps(), 'keys-down')).toMatchObject({ ok: false, status: 503 });
    const none = await exchangeCiToken(deps(), 'good-other');
    expect(none).toMatchObject({ ok: false, status: 403 });
    expect(!none.ok && none.reason).toContain('repository "acme/other" does not match "acme/shop"');
    expect(await exchangeCiToken(deps(), { token: 'x' })).toMatchObject({ ok: false, status: 400 });
    expect(events.map((e) => e.what?.outcome)).toEqual([
      'issued',
      'refused',
      'refused',
      'refused',
      'refused',
      'refused',
    ]);
    expect((await store.listTokens({ now: NOW })).length).toBe(1);
  });

  it('hands out nothing when the exchange cannot be recorded: the token is revoked at once', async () => {
    failAudit = true;
    expect(await exchangeCiToken(deps(), 'good-2')).toMatchObject({ ok: false, status: 503 });
    expect(await store.listTokens({ now: NOW })).toEqual([]);
  });
});
