/** issueToken: validation messages a requester can act on, and a stored verifier that proves the secret. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_APPROVAL_SETTINGS } from '../approvals/approval-settings.js';
import type { AirlockConfig } from '../config/config-types.js';
import type { RolePolicy } from '../policy/policy-types.js';
import { SqliteStore } from '../store/sqlite-store.js';
import { ScramClientSession, ScramServerSession } from '../wire/postgres/scram.js';
import { issueToken, TokenRequestError } from './issue-token.js';
import { isWellFormedSecret, isWellFormedTokenId } from './token-format.js';

const NOW = 1_700_000_000_000;
const MINUTE = 60_000;

/** A minimal frozen config with two roles on one upstream. */
function testConfig(): AirlockConfig {
  return Object.freeze({
    source: null,
    listen: {
      postgres: { host: '127.0.0.1', port: 6432 },
      http: null,
      advertise: null,
      allowPlaintextRemote: false,
    },
    tls: null,
    store: { kind: 'sqlite', path: ':memory:' },
    upstreams: {
      shop: {
        name: 'shop',
        host: '127.0.0.1',
        port: 5432,
        database: 'shop',
        user: 'gw',
        password: null,
        tls: { mode: 'disable', ca: null },
        connectTimeoutMs: 5000,
      },
    },
    roles: {
      reader: {
        name: 'reader',
        upstream: 'shop',
        rules: {},
        policy: emptyPolicy('reader'),
        masking: null,
        approval: DEFAULT_APPROVAL_SETTINGS,
      },
      writer: {
        name: 'writer',
        upstream: 'shop',
        rules: {},
        policy: emptyPolicy('writer'),
        masking: null,
        approval: DEFAULT_APPROVAL_SETTINGS,
      },
    },
    auth: { method: 'scram-sha-256', scramIterations: 64 },
    tokens: { defaultTtlMs: 15 * MINUTE, maxTtlMs: 24 * 60 * MINUTE, revocationCheckMs: 1000 },
    limits: { maxMessageBytes: 64 * 1024 * 1024, startupTimeoutMs: 10_000, maxConnections: 100 },
    shutdown: { graceMs: 10_000 },
    log: { level: 'silent' },
    masking: { catalogRefreshMs: 30_000 },
    audit: {
      instance: 'test',
      signingKeyPath: '/nonexistent/airlock-audit.key',
      checkpointEvery: 100,
      checkpointIntervalMs: 10_000,
      durability: 'fsync',
      sink: null,
    },
    auditors: {},
    trust: [],
    reviewers: {},
    notify: [],
    approvals: { publicUrl: null, pollMs: 500 },
  } satisfies AirlockConfig);
}

/** What a role with only `upstream:` resolves to. */
function emptyPolicy(role: string): RolePolicy {
  return {
    role,
    searchPath: ['public'],
    allow: [],
    approve: [],
    deny: [],
    functions: [],
    readOnly: true,
    destructive: 'approve',
  };
}

describe('issueToken', () => {
  let store: SqliteStore;
  const deps = () => ({ store, config: testConfig(), now: () => NOW });
  const request = { role: 'reader', subject: 'alice@example.com', reason: 'PR #42: fix order totals' };

  beforeEach(() => {
    store = new SqliteStore(':memory:');
  });
  afterEach(async () => {
    await store.close();
  });

  it('returns a well-formed id and secret, with the role’s upstream and the default ttl', async () => {
    const issued = await issueToken(deps(), request);
    expect(isWellFormedTokenId(issued.tokenId)).toBe(true);
    expect(isWellFormedSecret(issued.secret)).toBe(true);
    expect(issued).toMatchObject({
      role: 'reader',
      upstream: 'shop',
      subject: 'alice@example.com',
      reason: 'PR #42: fix order totals',
      runId: null,
      issuedAt: NOW,
      expiresAt: NOW + 15 * MINUTE,
    });
  });

  it('honours an explicit ttl and run id', async () => {
    const issued = await issueToken(deps(), { ...request, ttlMs: 5 * MINUTE, runId: 'gh-123' });
    expect(issued.expiresAt).toBe(NOW + 5 * MINUTE);
    expect(issued.runId).toBe('gh-123');
    expect((await store.getToken(issued.tokenId))?.runId).toBe('gh-123');
  });

  it('stores a SCRAM verifier that accepts the secret, and never the secret itself', async () => {
    const issued = await issueToken(deps(), request);
    const record = await store.getToken(issued.tokenId);
    expect(record).toBeDefined();
    expect(JSON.stringify(record)).not.toContain(issued.secret);
    expect(record?.verifier.iterations).toBe(64);
    expect(record?.revokedAt).toBeNull();

    const client = new ScramClientSession(issued.secret);
    const server = new ScramServerSession(record?.verifier ?? null);
    const serverFirst = server.handleClientFirst(client.clientFirst());
    const result = server.handleClientFinal(client.handleServerFirst(serverFirst));
    expect(result.ok).toBe(true);
  });

  it('lists the defined roles when the role is unknown', async () => {
    await expect(issueToken(deps(), { ...request, role: 'admin' })).rejects.toThrow(
      new TokenRequestError('unknown role "admin"; defined roles: reader, writer'),
    );
  });

  it('does not mistake object built-ins for roles', async () => {
    await expect(issueToken(deps(), { ...request, role: 'constructor' })).rejects.toThrow(TokenRequestError);
  });

  it.each([0, -1, 1.5, Number.NaN])('refuses ttl %s', async (ttlMs) => {
    await expect(issueToken(deps(), { ...request, ttlMs })).rejects.toThrow(/ttl must be a positive/);
  });

  it('refuses a ttl over the maximum and says what the maximum is', async () => {
    await expect(issueToken(deps(), { ...request, ttlMs: 25 * 60 * MINUTE })).rejects.toThrow(
      /ttl 25h exceeds the maximum of 1d/,
    );
  });

  it('accepts a ttl equal to the maximum', async () => {
    const issued = await issueToken(deps(), { ...request, ttlMs: 24 * 60 * MINUTE });
    expect(issued.expiresAt - issued.issuedAt).toBe(24 * 60 * MINUTE);
  });

  it.each([
    ['subject', { subject: '' }, /subject must not be empty/],
    ['subject', { subject: '   ' }, /subject must not be empty/],
    ['reason', { reason: '' }, /reason must not be empty/],
    ['subject', { subject: 'x'.repeat(513) }, /subject is 513 characters; the limit is 512/],
    ['reason', { reason: 'x'.repeat(513) }, /reason is 513 characters/],
    ['runId', { runId: 'x'.repeat(513) }, /runId is 513 characters/],
    ['reason', { reason: 'ok\nINJECTED audit line' }, /reason must not contain control characters/],
    ['subject', { subject: 'evil\u001b[31m' }, /subject must not contain control characters/],
    ['runId', { runId: 'run\t1' }, /runId must not contain control characters/],
    ['reason', { reason: 'bidi \u202e trick' }, /reason must not contain control characters/],
    ['runId', { runId: '' }, /runId must not be empty/],
  ])('refuses a bad %s', async (_field, change, message) => {
    await expect(issueToken(deps(), { ...request, ...change })).rejects.toThrow(message);
    expect(await store.listTokens({ includeInactive: true })).toHaveLength(0);
  });

  it('accepts 512 characters exactly', async () => {
    const issued = await issueToken(deps(), { ...request, reason: 'x'.repeat(512) });
    expect(issued.reason).toHaveLength(512);
  });
});
